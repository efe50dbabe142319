//! Python objects deserialized directly (no JSON text, no intermediate tree): a render request
//! built of dicts, lists and tuples holding `ast_canopy`'s declaration objects. Frozen dataclasses
//! read as maps of their fields in declaration order (a field that is None is left out, as the
//! model's optional fields are), enums as their `value`, sets as sorted sequences.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple, PyType};
use serde::de::value::{Error, MapAccessDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, Error as _, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// Deserializes `T` from the Python object `obj`.
pub(crate) fn from_object<T: de::DeserializeOwned>(obj: &Bound<'_, PyAny>) -> PyResult<T> {
    let enum_class = obj.py().import("enum")?.getattr("Enum")?.cast_into::<PyType>()?;
    let shared = Shared { enum_class, fields: RefCell::default() };
    T::deserialize(Object { obj: obj.clone(), shared: &shared })
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("bad render request: {e}")))
}

/// What one deserialization shares: `enum.Enum`, and the field names of each dataclass met (by
/// the address of the class, alive while the objects are).
struct Shared<'py> {
    enum_class: Bound<'py, PyType>,
    fields: RefCell<HashMap<usize, Option<FieldNames<'py>>>>,
}

/// The field names of a dataclass, in declaration order.
type FieldNames<'py> = Rc<Vec<Bound<'py, PyString>>>;

impl<'py> Shared<'py> {
    /// The field names of `obj`'s class if it is a dataclass (None for any other object).
    fn dataclass_fields(&self, obj: &Bound<'py, PyAny>) -> Result<Option<FieldNames<'py>>, Error> {
        let cls = obj.get_type();
        let key = cls.as_ptr() as usize;
        if let Some(names) = self.fields.borrow().get(&key) {
            return Ok(names.clone());
        }
        let Ok(fields) = cls.getattr("__dataclass_fields__") else {
            self.fields.borrow_mut().insert(key, None);
            return Ok(None);
        };
        let fields = fields.cast::<PyDict>().map_err(|e| py_err(e.into()))?;
        let names = fields
            .keys()
            .iter()
            .map(|k| k.cast_into::<PyString>().map_err(|e| py_err(e.into())))
            .collect::<Result<Vec<_>, _>>()?;
        let names = Rc::new(names);
        self.fields.borrow_mut().insert(key, Some(names.clone()));
        Ok(Some(names))
    }
}

fn py_err(e: PyErr) -> Error {
    Error::custom(e)
}

/// One Python object as a serde deserializer.
struct Object<'a, 'py> {
    obj: Bound<'py, PyAny>,
    shared: &'a Shared<'py>,
}

impl<'a, 'py> Object<'a, 'py> {
    fn at(&self, obj: Bound<'py, PyAny>) -> Object<'a, 'py> {
        Object { obj, shared: self.shared }
    }
}

impl<'de, 'a, 'py> de::Deserializer<'de> for Object<'a, 'py> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let obj = &self.obj;
        if obj.is_none() {
            return visitor.visit_unit();
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return visitor.visit_str(s.to_str().map_err(py_err)?);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return visitor.visit_bool(b.is_true());
        }
        if obj.is_instance_of::<PyInt>() {
            return match obj.extract::<i64>() {
                Ok(i) => visitor.visit_i64(i),
                Err(_) => visitor.visit_u64(obj.extract::<u64>().map_err(py_err)?),
            };
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return visitor.visit_f64(f.value());
        }
        if let Some(names) = self.shared.dataclass_fields(obj)? {
            let mut items = Vec::with_capacity(names.len());
            for name in names.iter() {
                let value = obj.getattr(name).map_err(py_err)?;
                if !value.is_none() {
                    items.push((name.clone().into_any(), value));
                }
            }
            return visitor.visit_map(Entries { items: items.into_iter(), value: None, parent: &self });
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let items: Vec<_> = d.iter().collect();
            return visitor.visit_map(Entries { items: items.into_iter(), value: None, parent: &self });
        }
        if let Ok(l) = obj.cast::<PyList>() {
            return visitor.visit_seq(Items { items: l.iter().collect::<Vec<_>>().into_iter(), parent: &self });
        }
        if let Ok(t) = obj.cast::<PyTuple>() {
            return visitor.visit_seq(Items { items: t.iter().collect::<Vec<_>>().into_iter(), parent: &self });
        }
        if obj.is_instance_of::<PyFrozenSet>() || obj.is_instance_of::<PySet>() {
            let mut items = obj.try_iter().map_err(py_err)?.collect::<PyResult<Vec<_>>>().map_err(py_err)?;
            let mut keys = Vec::with_capacity(items.len());
            for item in &items {
                keys.push(item.str().map_err(py_err)?.to_string());
            }
            let mut order: Vec<usize> = (0..items.len()).collect();
            order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
            let mut sorted = Vec::with_capacity(items.len());
            for i in order {
                sorted.push(std::mem::replace(&mut items[i], obj.py().None().into_bound(obj.py())));
            }
            return visitor.visit_seq(Items { items: sorted.into_iter(), parent: &self });
        }
        if obj.is_instance(&self.shared.enum_class).map_err(py_err)? {
            return self.at(obj.getattr("value").map_err(py_err)?).deserialize_any(visitor);
        }
        let name = obj.get_type().name().map_or_else(|_| "?".to_string(), |n| n.to_string());
        Err(Error::custom(format!("cannot send a {name} to the renderer")))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.obj.is_none() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let obj = if self.obj.is_instance(&self.shared.enum_class).map_err(py_err)? {
            self.obj.getattr("value").map_err(py_err)?
        } else {
            self.obj.clone()
        };
        if let Ok(s) = obj.cast::<PyString>() {
            let s: StrDeserializer<'_, Error> = s.to_str().map_err(py_err)?.into_deserializer();
            return visitor.visit_enum(s);
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let items: Vec<_> = d.iter().collect();
            return visitor.visit_enum(MapAccessDeserializer::new(Entries {
                items: items.into_iter(),
                value: None,
                parent: &self,
            }));
        }
        Err(Error::custom(format!("expected an enum variant, not {}", obj.get_type().name().map_err(py_err)?)))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct Items<'p, 'a, 'py> {
    items: std::vec::IntoIter<Bound<'py, PyAny>>,
    parent: &'p Object<'a, 'py>,
}

impl<'de, 'p, 'a, 'py> SeqAccess<'de> for Items<'p, 'a, 'py> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            Some(item) => seed.deserialize(self.parent.at(item)).map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Entries<'p, 'a, 'py> {
    items: std::vec::IntoIter<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    value: Option<Bound<'py, PyAny>>,
    parent: &'p Object<'a, 'py>,
}

impl<'de, 'p, 'a, 'py> MapAccess<'de> for Entries<'p, 'a, 'py> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        match self.items.next() {
            Some((key, value)) => {
                self.value = Some(value);
                let key = match key.cast::<PyString>() {
                    Ok(s) => s.clone(),
                    Err(_) => key.str().map_err(py_err)?,
                };
                seed.deserialize(self.parent.at(key.into_any())).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self.value.take().ok_or_else(|| Error::custom("a map value without its key"))?;
        seed.deserialize(self.parent.at(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

//! Terraform values (cty) and their two wire encodings: msgpack, which Terraform uses for every
//! `DynamicValue`, and JSON, which it uses for stored state handed to `UpgradeResourceState`.
//!
//! Decoding is driven by the schema's type, because the wire does not say whether an array is a list, a
//! set or a tuple, nor whether a map is a map or an object. Encoding needs the type only for `dynamic`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;

use rmp::Marker;
use serde_json::Value as Json;

use super::proto::tfplugin6 as pb;

/// A cty type, as Terraform names it in schemas (`"string"`, `["list","string"]`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    /// `dynamic`: the value carries its own type on the wire.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(element: Type) -> Type {
        Type::List(Box::new(element))
    }

    pub fn set(element: Type) -> Type {
        Type::Set(Box::new(element))
    }

    pub fn map(element: Type) -> Type {
        Type::Map(Box::new(element))
    }

    pub fn object<I, S>(attributes: I) -> Type
    where
        I: IntoIterator<Item = (S, Type)>,
        S: Into<String>,
    {
        Type::Object(attributes.into_iter().map(|(n, t)| (n.into(), t)).collect())
    }

    /// The type as cty's JSON type notation, as the schema's `type` bytes carry it.
    pub fn to_json(&self) -> Json {
        match self {
            Type::Bool => Json::from("bool"),
            Type::Number => Json::from("number"),
            Type::String => Json::from("string"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(e) => Json::Array(vec!["list".into(), e.to_json()]),
            Type::Set(e) => Json::Array(vec!["set".into(), e.to_json()]),
            Type::Map(e) => Json::Array(vec!["map".into(), e.to_json()]),
            Type::Object(attrs) => Json::Array(vec![
                "object".into(),
                Json::Object(attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect()),
            ]),
            Type::Tuple(elems) => Json::Array(vec![
                "tuple".into(),
                Json::Array(elems.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    pub fn from_json(json: &Json) -> Result<Type, DecodeError> {
        let bad = || DecodeError::new(format!("not a cty type: {json}"));
        match json {
            Json::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            Json::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0].as_str().ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json(&parts[1])?)),
                    "set" => Ok(Type::set(Type::from_json(&parts[1])?)),
                    "map" => Ok(Type::map(Type::from_json(&parts[1])?)),
                    // A third element lists optional attributes; it does not change the wire form.
                    "object" => {
                        let attrs = parts[1].as_object().ok_or_else(bad)?;
                        let mut out = BTreeMap::new();
                        for (name, t) in attrs {
                            out.insert(name.clone(), Type::from_json(t)?);
                        }
                        Ok(Type::Object(out))
                    }
                    "tuple" => {
                        let elems = parts[1].as_array().ok_or_else(bad)?;
                        Ok(Type::Tuple(
                            elems.iter().map(Type::from_json).collect::<Result<_, _>>()?,
                        ))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// The type a value has, for encoding values of `dynamic` attributes.
    fn infer(value: &Value) -> Type {
        match value {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => Type::list(v.first().map(Type::infer).unwrap_or(Type::Dynamic)),
            Value::Set(v) => Type::set(v.first().map(Type::infer).unwrap_or(Type::Dynamic)),
            Value::Map(m) => Type::map(m.values().next().map(Type::infer).unwrap_or(Type::Dynamic)),
            Value::Object(m) => Type::Object(m.iter().map(|(k, v)| (k.clone(), Type::infer(v))).collect()),
            Value::Tuple(v) => Type::Tuple(v.iter().map(Type::infer).collect()),
        }
    }

    /// The type of element `index` of a list, set or tuple of this type (`dynamic` for anything else).
    fn element(&self, index: usize) -> &Type {
        match self {
            Type::List(e) | Type::Set(e) => e,
            Type::Tuple(elems) => elems.get(index).unwrap_or(&Type::Dynamic),
            _ => &Type::Dynamic,
        }
    }
}

/// A number as Terraform sends it: integers stay exact, everything else is a float.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(i),
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            Number::Float(_) => None,
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            _ => self.as_f64() == other.as_f64(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

/// A Terraform value. `Unknown` is a value that will only be known after apply.
#[derive(Debug, Clone, Default)]
pub enum Value {
    #[default]
    Null,
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            // Sets are unordered: equal when each holds every element of the other.
            (Set(a), Set(b)) => a.len() == b.len() && a.iter().all(|x| b.contains(x)),
            (Map(a), Map(b)) | (Object(a), Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    pub fn object<I, S>(attributes: I) -> Value
    where
        I: IntoIterator<Item = (S, Value)>,
        S: Into<String>,
    {
        Value::Object(attributes.into_iter().map(|(n, v)| (n.into(), v)).collect())
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when neither this value nor anything inside it is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    /// An attribute of an object value; null when absent or when `self` is not an object.
    pub fn get(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        match self {
            Value::Object(m) => m.get(name).unwrap_or(&NULL),
            _ => &NULL,
        }
    }

    /// Mutable access to an attribute of an object value; `None` when `self` is not an object.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) => m.get_mut(name),
            _ => None,
        }
    }

    /// Sets an attribute of an object value; does nothing when `self` is not an object.
    pub fn set(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            m.insert(name.to_owned(), value);
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> &[Value] {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v,
            _ => &[],
        }
    }

    /// Entries of a map or object.
    pub fn entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// This object with each unknown attribute replaced by `other`'s value of it (null when absent).
    pub fn with_unknowns_from(&self, other: &Value) -> Value {
        let mut out = self.clone();
        if let Value::Object(fields) = &mut out {
            for (name, value) in fields.iter_mut() {
                if value.is_unknown() {
                    *value = other.get(name).clone();
                }
            }
        }
        out
    }

    /// A null value of the right shape for `ty`: objects get every attribute, all null.
    pub fn null_object(ty: &Type) -> Value {
        match ty {
            Type::Object(attrs) => Value::Object(null_attributes(attrs)),
            _ => Value::Null,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Number(Number::Int(i))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Why a value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub message: String,
}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }
}

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;

fn check_depth(depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::new("value nested too deeply"));
    }
    Ok(())
}

/// An object of type `attrs` with every attribute null: what each decoder fills in.
fn null_attributes(attrs: &BTreeMap<String, Type>) -> BTreeMap<String, Value> {
    attrs.keys().map(|k| (k.clone(), Value::Null)).collect()
}

// ---------------------------------------------------------------------------------------------------------
// DynamicValue: the envelope of every value on the wire

/// Decodes a `DynamicValue` Terraform sent: its msgpack, or its JSON when that is all it holds; an empty
/// one is null.
pub(crate) fn from_dynamic(dv: &pb::DynamicValue, ty: &Type) -> Result<Value, DecodeError> {
    if !dv.msgpack.is_empty() {
        from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        let json: Json = serde_json::from_slice(&dv.json).map_err(|e| DecodeError::new(e.to_string()))?;
        from_json(&json, ty, false)
    } else {
        Ok(Value::Null)
    }
}

/// A value in the envelope Terraform reads: msgpack, as Terraform itself writes it.
pub(crate) fn to_dynamic(value: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: to_msgpack(value, ty),
        json: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------------------
// msgpack

/// Decodes a msgpack value of type `ty`. Every msgpack extension decodes as unknown: Terraform encodes
/// unknown as extension 0 and, since 1.6, refined unknowns as extension 12.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let mut reader = MsgpackReader { buf: bytes, pos: 0 };
    let value = reader.value(ty, 0)?;
    if reader.pos != bytes.len() {
        return Err(DecodeError::new("trailing bytes after msgpack value"));
    }
    Ok(value)
}

/// Where a msgpack length is written: in the marker itself, or in the 1, 2 or 4 bytes after it.
#[derive(Debug, Clone, Copy)]
enum Length {
    InMarker(usize),
    Following(usize),
}

/// What a length belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    /// An extension (Terraform's unknowns): the type byte, then this many bytes of payload.
    Extension,
    /// A string or binary: this many bytes.
    Bytes,
    /// An array: this many values.
    Array,
    /// A map: this many key-value pairs.
    Map,
}

/// What a marker starts, and where its length is; `None` for markers without a length.
fn holder(marker: Marker) -> Option<(Holder, Length)> {
    use Holder::*;
    use Length::*;
    Some(match marker {
        Marker::FixExt1 => (Extension, InMarker(1)),
        Marker::FixExt2 => (Extension, InMarker(2)),
        Marker::FixExt4 => (Extension, InMarker(4)),
        Marker::FixExt8 => (Extension, InMarker(8)),
        Marker::FixExt16 => (Extension, InMarker(16)),
        Marker::Ext8 => (Extension, Following(1)),
        Marker::Ext16 => (Extension, Following(2)),
        Marker::Ext32 => (Extension, Following(4)),
        Marker::FixStr(n) => (Bytes, InMarker(usize::from(n))),
        Marker::Str8 | Marker::Bin8 => (Bytes, Following(1)),
        Marker::Str16 | Marker::Bin16 => (Bytes, Following(2)),
        Marker::Str32 | Marker::Bin32 => (Bytes, Following(4)),
        Marker::FixArray(n) => (Array, InMarker(usize::from(n))),
        Marker::Array16 => (Array, Following(2)),
        Marker::Array32 => (Array, Following(4)),
        Marker::FixMap(n) => (Map, InMarker(usize::from(n))),
        Marker::Map16 => (Map, Following(2)),
        Marker::Map32 => (Map, Following(4)),
        _ => return None,
    })
}

struct MsgpackReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> MsgpackReader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| DecodeError::new("msgpack value is truncated"))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, DecodeError> {
        let len = self.uint(n)? as usize;
        // Every element needs at least one byte: a length beyond the input is corrupt, not a reason to
        // allocate.
        if len > self.buf.len() - self.pos {
            return Err(DecodeError::new("msgpack length exceeds the input"));
        }
        Ok(len)
    }

    fn marker(&mut self) -> Result<Marker, DecodeError> {
        Ok(Marker::from_u8(self.take(1)?[0]))
    }

    /// The length `marker` announces for a `wanted` holder; `expected` names it in the error otherwise.
    fn length(&mut self, marker: Marker, wanted: Holder, expected: &str) -> Result<usize, DecodeError> {
        match holder(marker) {
            Some((found, Length::InMarker(n))) if found == wanted => Ok(n),
            Some((found, Length::Following(bytes))) if found == wanted => self.len(bytes),
            _ => Err(DecodeError::new(format!("expected {expected}"))),
        }
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, DecodeError> {
        check_depth(depth)?;
        let marker = self.marker()?;
        if marker == Marker::Null {
            return Ok(Value::Null);
        }
        if let Some((Holder::Extension, _)) = holder(marker) {
            let payload = self.length(marker, Holder::Extension, "an extension")?;
            self.take(1 + payload)?;
            return Ok(Value::Unknown);
        }
        match ty {
            Type::Dynamic => self.dynamic(marker, depth),
            Type::Bool => match marker {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                _ => Err(DecodeError::new("expected a bool")),
            },
            Type::String => self.text(marker, "string").map(Value::String),
            Type::Number => self.number(marker).map(Value::Number),
            Type::List(e) => self.elements(marker, e, depth).map(Value::List),
            Type::Set(e) => self.elements(marker, e, depth).map(Value::Set),
            Type::Tuple(types) => self.tuple(marker, types, depth),
            Type::Map(e) => self.map(marker, e, depth),
            Type::Object(attrs) => self.object(marker, attrs, depth),
        }
    }

    /// A dynamic value travels as [type as JSON bytes, value].
    fn dynamic(&mut self, marker: Marker, depth: usize) -> Result<Value, DecodeError> {
        if self.length(marker, Holder::Array, "an array")? != 2 {
            return Err(DecodeError::new("dynamic value must be a two-element array"));
        }
        let type_marker = self.marker()?;
        let json: Json = serde_json::from_slice(self.bytes_or_str(type_marker)?)
            .map_err(|e| DecodeError::new(format!("dynamic value type: {e}")))?;
        let inner = Type::from_json(&json)?;
        self.value(&inner, depth + 1)
    }

    fn elements(&mut self, marker: Marker, element: &Type, depth: usize) -> Result<Vec<Value>, DecodeError> {
        let len = self.length(marker, Holder::Array, "an array")?;
        (0..len).map(|_| self.value(element, depth + 1)).collect()
    }

    fn tuple(&mut self, marker: Marker, types: &[Type], depth: usize) -> Result<Value, DecodeError> {
        if self.length(marker, Holder::Array, "an array")? != types.len() {
            return Err(DecodeError::new("tuple has the wrong number of elements"));
        }
        let items = types.iter().map(|t| self.value(t, depth + 1));
        items.collect::<Result<_, _>>().map(Value::Tuple)
    }

    fn map(&mut self, marker: Marker, element: &Type, depth: usize) -> Result<Value, DecodeError> {
        let len = self.length(marker, Holder::Map, "a map")?;
        let mut out = BTreeMap::new();
        for _ in 0..len {
            let key = self.key()?;
            out.insert(key, self.value(element, depth + 1)?);
        }
        Ok(Value::Map(out))
    }

    fn object(
        &mut self,
        marker: Marker,
        attrs: &BTreeMap<String, Type>,
        depth: usize,
    ) -> Result<Value, DecodeError> {
        let len = self.length(marker, Holder::Map, "a map")?;
        let mut out = null_attributes(attrs);
        for _ in 0..len {
            let key = self.key()?;
            let attr_ty = attrs
                .get(&key)
                .ok_or_else(|| DecodeError::new(format!("unsupported attribute \"{key}\"")))?;
            let v = self.value(attr_ty, depth + 1)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }

    fn key(&mut self) -> Result<String, DecodeError> {
        let marker = self.marker()?;
        self.text(marker, "map key")
    }

    /// A string; `what` names it when it is not UTF-8.
    fn text(&mut self, marker: Marker, what: &str) -> Result<String, DecodeError> {
        let bytes = self.bytes_or_str(marker)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::new(format!("{what} is not valid UTF-8")))
    }

    fn bytes_or_str(&mut self, marker: Marker) -> Result<&'a [u8], DecodeError> {
        let len = self.length(marker, Holder::Bytes, "a string")?;
        self.take(len)
    }

    fn number(&mut self, marker: Marker) -> Result<Number, DecodeError> {
        let int = |v: i64| Ok(Number::Int(v));
        match marker {
            Marker::FixPos(n) => int(i64::from(n)),
            Marker::FixNeg(n) => int(i64::from(n)),
            Marker::U8 => int(self.uint(1)? as i64),
            Marker::U16 => int(self.uint(2)? as i64),
            Marker::U32 => int(self.uint(4)? as i64),
            Marker::U64 => {
                let v = self.uint(8)?;
                Ok(i64::try_from(v).map_or(Number::Float(v as f64), Number::Int))
            }
            Marker::I8 => int(i64::from(self.uint(1)? as u8 as i8)),
            Marker::I16 => int(i64::from(self.uint(2)? as u16 as i16)),
            Marker::I32 => int(i64::from(self.uint(4)? as u32 as i32)),
            Marker::I64 => int(self.uint(8)? as i64),
            Marker::F32 => Ok(Number::Float(f64::from(f32::from_bits(self.uint(4)? as u32)))),
            Marker::F64 => Ok(Number::Float(f64::from_bits(self.uint(8)?))),
            // Numbers too large for 64 bits arrive as decimal strings.
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let text = std::str::from_utf8(self.bytes_or_str(marker)?)
                    .map_err(|_| DecodeError::new("number is not valid UTF-8"))?;
                parse_number(text)
            }
            _ => Err(DecodeError::new("expected a number")),
        }
    }
}

fn parse_number(text: &str) -> Result<Number, DecodeError> {
    if let Ok(i) = text.parse::<i64>() {
        return Ok(Number::Int(i));
    }
    text.parse::<f64>()
        .map(Number::Float)
        .map_err(|_| DecodeError::new(format!("\"{text}\" is not a number")))
}

/// Encodes a value of type `ty` as msgpack.
pub fn to_msgpack(value: &Value, ty: &Type) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_msgpack(&mut out, value, ty);
    out
}

// Writes into a Vec cannot fail, so the io results below are discarded on purpose.
fn write_msgpack(out: &mut Vec<u8>, value: &Value, ty: &Type) {
    if let Type::Dynamic = ty {
        if !matches!(value, Value::Null | Value::Unknown) {
            write_dynamic(out, value);
            return;
        }
    }
    match value {
        Value::Null => {
            let _ = rmp::encode::write_nil(out);
        }
        Value::Unknown => {
            // fixext1, extension type 0, one zero byte: what Terraform itself writes for unknown.
            let _ = out.write_all(&[0xd4, 0x00, 0x00]);
        }
        Value::Bool(b) => {
            let _ = rmp::encode::write_bool(out, *b);
        }
        Value::Number(Number::Int(i)) => {
            let _ = rmp::encode::write_sint(out, *i);
        }
        Value::Number(Number::Float(f)) => {
            let _ = rmp::encode::write_f64(out, *f);
        }
        Value::String(s) => {
            let _ = rmp::encode::write_str(out, s);
        }
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            let _ = rmp::encode::write_array_len(out, items.len() as u32);
            for (i, item) in items.iter().enumerate() {
                write_msgpack(out, item, ty.element(i));
            }
        }
        Value::Map(entries) => {
            let element_ty = match ty {
                Type::Map(e) => e.as_ref(),
                _ => &Type::Dynamic,
            };
            write_entries(out, entries, element_ty);
        }
        Value::Object(entries) => match ty {
            Type::Object(attrs) => write_object(out, entries, attrs),
            _ => write_entries(out, entries, &Type::Dynamic),
        },
    }
}

/// A value of a `dynamic` attribute: [its type as JSON bytes, the value of that type].
fn write_dynamic(out: &mut Vec<u8>, value: &Value) {
    let actual = Type::infer(value);
    let _ = rmp::encode::write_array_len(out, 2);
    let type_json = actual.to_json().to_string();
    let _ = rmp::encode::write_bin(out, type_json.as_bytes());
    write_msgpack(out, value, &actual);
}

fn write_entries(out: &mut Vec<u8>, entries: &BTreeMap<String, Value>, element_ty: &Type) {
    let _ = rmp::encode::write_map_len(out, entries.len() as u32);
    for (k, v) in entries {
        let _ = rmp::encode::write_str(out, k);
        write_msgpack(out, v, element_ty);
    }
}

/// Terraform expects every attribute of the type, nulls included, and nothing else.
fn write_object(out: &mut Vec<u8>, entries: &BTreeMap<String, Value>, attrs: &BTreeMap<String, Type>) {
    let _ = rmp::encode::write_map_len(out, attrs.len() as u32);
    for (name, attr_ty) in attrs {
        let _ = rmp::encode::write_str(out, name);
        write_msgpack(out, entries.get(name).unwrap_or(&Value::Null), attr_ty);
    }
}

// ---------------------------------------------------------------------------------------------------------
// JSON

/// Decodes a JSON value of type `ty`. JSON cannot carry unknowns. Object attributes the type does not
/// have are an error unless `drop_unknown_attributes` is set (state written by an older schema may hold
/// attributes since removed).
pub fn from_json(json: &Json, ty: &Type, drop_unknown_attributes: bool) -> Result<Value, DecodeError> {
    JsonReader {
        drop_unknown_attributes,
    }
    .value(json, ty, 0)
}

fn mismatch(expected: &str, json: &Json) -> DecodeError {
    DecodeError::new(format!("expected {expected}, found {json}"))
}

struct JsonReader {
    drop_unknown_attributes: bool,
}

impl JsonReader {
    fn value(&self, json: &Json, ty: &Type, depth: usize) -> Result<Value, DecodeError> {
        check_depth(depth)?;
        if json.is_null() {
            return Ok(Value::Null);
        }
        match ty {
            Type::Dynamic => self.dynamic(json, depth),
            Type::Bool => json
                .as_bool()
                .map(Value::Bool)
                .ok_or_else(|| mismatch("a bool", json)),
            Type::String => json
                .as_str()
                .map(Value::string)
                .ok_or_else(|| mismatch("a string", json)),
            Type::Number => json_number(json).map(Value::Number),
            Type::List(e) => self.elements(json, e, depth).map(Value::List),
            Type::Set(e) => self.elements(json, e, depth).map(Value::Set),
            Type::Tuple(types) => self.tuple(json, types, depth),
            Type::Map(e) => self.map(json, e, depth),
            Type::Object(attrs) => self.object(json, attrs, depth),
        }
    }

    /// A dynamic value travels as `{"value": ..., "type": ...}`.
    fn dynamic(&self, json: &Json, depth: usize) -> Result<Value, DecodeError> {
        let obj = json
            .as_object()
            .ok_or_else(|| mismatch("a dynamic value {value, type}", json))?;
        let inner_ty = Type::from_json(obj.get("type").ok_or_else(|| mismatch("a \"type\"", json))?)?;
        self.value(obj.get("value").unwrap_or(&Json::Null), &inner_ty, depth + 1)
    }

    fn elements(&self, json: &Json, element: &Type, depth: usize) -> Result<Vec<Value>, DecodeError> {
        let items = json.as_array().ok_or_else(|| mismatch("an array", json))?;
        items.iter().map(|j| self.value(j, element, depth + 1)).collect()
    }

    fn tuple(&self, json: &Json, types: &[Type], depth: usize) -> Result<Value, DecodeError> {
        let items = json.as_array().ok_or_else(|| mismatch("an array", json))?;
        if items.len() != types.len() {
            return Err(mismatch("a tuple of the right length", json));
        }
        let items = items.iter().zip(types).map(|(j, t)| self.value(j, t, depth + 1));
        items.collect::<Result<_, _>>().map(Value::Tuple)
    }

    fn map(&self, json: &Json, element: &Type, depth: usize) -> Result<Value, DecodeError> {
        let obj = json.as_object().ok_or_else(|| mismatch("an object", json))?;
        let mut out = BTreeMap::new();
        for (k, v) in obj {
            out.insert(k.clone(), self.value(v, element, depth + 1)?);
        }
        Ok(Value::Map(out))
    }

    fn object(
        &self,
        json: &Json,
        attrs: &BTreeMap<String, Type>,
        depth: usize,
    ) -> Result<Value, DecodeError> {
        let obj = json.as_object().ok_or_else(|| mismatch("an object", json))?;
        let mut out = null_attributes(attrs);
        for (k, v) in obj {
            match attrs.get(k) {
                Some(attr_ty) => {
                    out.insert(k.clone(), self.value(v, attr_ty, depth + 1)?);
                }
                None if self.drop_unknown_attributes => {}
                None => return Err(DecodeError::new(format!("unsupported attribute \"{k}\""))),
            }
        }
        Ok(Value::Object(out))
    }
}

/// A JSON number, or a decimal string (numbers beyond 64 bits).
fn json_number(json: &Json) -> Result<Number, DecodeError> {
    match json {
        Json::Number(n) => Ok(match n.as_i64() {
            Some(i) => Number::Int(i),
            None => Number::Float(n.as_f64().unwrap_or(f64::NAN)),
        }),
        Json::String(s) => parse_number(s),
        _ => Err(mismatch("a number", json)),
    }
}

/// Encodes a value as JSON. Unknown values have no JSON form and are written as null.
pub fn to_json(value: &Value, ty: &Type) -> Json {
    match (value, ty) {
        (Value::Null | Value::Unknown, _) => Json::Null,
        (v, Type::Dynamic) => {
            let actual = Type::infer(v);
            serde_json::json!({ "value": to_json(v, &actual), "type": actual.to_json() })
        }
        (Value::Bool(b), _) => Json::Bool(*b),
        (Value::Number(Number::Int(i)), _) => Json::from(*i),
        (Value::Number(Number::Float(f)), _) => Json::from(*f),
        (Value::String(s), _) => Json::String(s.clone()),
        (Value::List(items) | Value::Set(items) | Value::Tuple(items), _) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, ty.element(i)))
                .collect(),
        ),
        (Value::Map(entries) | Value::Object(entries), _) => Json::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let element_ty = match ty {
                        Type::Map(e) => e.as_ref(),
                        Type::Object(attrs) => attrs.get(k).unwrap_or(&Type::Dynamic),
                        _ => &Type::Dynamic,
                    };
                    (k.clone(), to_json(v, element_ty))
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_type() -> Type {
        Type::object([
            ("name", Type::String),
            ("count", Type::Number),
            ("enabled", Type::Bool),
            ("tags", Type::map(Type::String)),
            ("scopes", Type::set(Type::String)),
            ("items", Type::list(Type::object([("id", Type::String)]))),
        ])
    }

    fn sample_value() -> Value {
        Value::object([
            ("name", Value::string("key")),
            ("count", Value::from(42)),
            ("enabled", Value::Bool(true)),
            ("tags", Value::Map([("a".to_owned(), Value::string("1"))].into())),
            (
                "scopes",
                Value::Set(vec![Value::string("User.Read"), Value::Unknown]),
            ),
            ("items", Value::List(vec![Value::object([("id", Value::Null)])])),
        ])
    }

    #[test]
    fn msgpack_round_trips_every_kind_including_unknown_and_null() {
        let ty = sample_type();
        let bytes = to_msgpack(&sample_value(), &ty);
        assert_eq!(from_msgpack(&bytes, &ty).unwrap(), sample_value());
    }

    #[test]
    fn unknown_is_written_as_terraform_writes_it() {
        assert_eq!(to_msgpack(&Value::Unknown, &Type::String), vec![0xd4, 0, 0]);
    }

    #[test]
    fn every_extension_type_decodes_as_unknown() {
        // Terraform 1.6+ sends refined unknowns as extension 12 with a payload.
        let refined = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(from_msgpack(&refined, &Type::String).unwrap(), Value::Unknown);
        assert_eq!(
            from_msgpack(&[0xd5, 0x05, 0x00, 0x00], &Type::Number).unwrap(),
            Value::Unknown
        );
    }

    #[test]
    fn numbers_are_accepted_as_ints_floats_and_strings() {
        let ty = Type::Number;
        assert_eq!(from_msgpack(&[0x05], &ty).unwrap(), Value::from(5));
        assert_eq!(from_msgpack(&[0xd0, 0xfb], &ty).unwrap(), Value::from(-5));
        let mut f = Vec::new();
        rmp::encode::write_f64(&mut f, 2.5).unwrap();
        assert_eq!(from_msgpack(&f, &ty).unwrap(), Value::Number(Number::Float(2.5)));
        let mut s = Vec::new();
        rmp::encode::write_str(&mut s, "12345678901234567890").unwrap();
        assert!(matches!(
            from_msgpack(&s, &ty).unwrap(),
            Value::Number(Number::Float(_))
        ));
    }

    #[test]
    fn objects_missing_attributes_decode_them_as_null() {
        let ty = Type::object([("a", Type::String), ("b", Type::String)]);
        let mut bytes = Vec::new();
        rmp::encode::write_map_len(&mut bytes, 1).unwrap();
        rmp::encode::write_str(&mut bytes, "a").unwrap();
        rmp::encode::write_str(&mut bytes, "x").unwrap();
        let v = from_msgpack(&bytes, &ty).unwrap();
        assert_eq!(v.get("a"), &Value::string("x"));
        assert!(v.get("b").is_null());
    }

    #[test]
    fn hostile_msgpack_is_an_error_not_a_panic() {
        let ty = sample_type();
        for input in [
            &[][..],
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[0x81, 0xa1],
            &[0xc1],
            &[0x93, 0x01],
        ] {
            assert!(from_msgpack(input, &ty).is_err(), "{input:?}");
        }
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 200).collect();
        let mut nested = Type::String;
        for _ in 0..200 {
            nested = Type::list(nested);
        }
        assert!(from_msgpack(&deep, &nested).is_err());
    }

    #[test]
    fn dynamic_values_carry_their_type() {
        let v = Value::object([("x", Value::string("y"))]);
        let bytes = to_msgpack(&v, &Type::Dynamic);
        assert_eq!(from_msgpack(&bytes, &Type::Dynamic).unwrap(), v);
        let json = to_json(&v, &Type::Dynamic);
        assert_eq!(from_json(&json, &Type::Dynamic, false).unwrap(), v);
    }

    #[test]
    fn json_round_trips_and_drops_removed_attributes_only_when_asked() {
        let ty = sample_type();
        let mut known = sample_value();
        known.set("scopes", Value::Set(vec![Value::string("User.Read")]));
        let json = to_json(&known, &ty);
        assert_eq!(from_json(&json, &ty, false).unwrap(), known);

        let mut with_extra = json.clone();
        with_extra["removed"] = Json::from("old");
        assert!(from_json(&with_extra, &ty, false).is_err());
        assert_eq!(from_json(&with_extra, &ty, true).unwrap(), known);
    }

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec![Value::string("a"), Value::string("b")]);
        let b = Value::Set(vec![Value::string("b"), Value::string("a")]);
        assert_eq!(a, b);
        assert_ne!(
            Value::List(a.elements().to_vec()),
            Value::List(b.elements().to_vec())
        );
    }

    #[test]
    fn type_json_round_trips() {
        let ty = sample_type();
        assert_eq!(Type::from_json(&ty.to_json()).unwrap(), ty);
        assert_eq!(
            Type::from_json(&serde_json::json!(["object", {"a": "string"}, ["a"]])).unwrap(),
            Type::object([("a", Type::String)])
        );
    }
}

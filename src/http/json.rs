//! Reading request bodies: content type, size, JSON syntax, then each field's
//! rules, reporting every bad field at once. Request types implement
//! `FromJson` to turn a JSON object into a value that is valid by
//! construction ("parse, don't validate").

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::{Map, Value};

use super::error::{ApiError, FieldError};

pub trait FromJson: Sized {
    fn from_json(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>>;
}

/// How deep a field of a body may nest (`{"a": {"b": 1}}` is 2). Stored
/// jobs wrap request fields a few levels further down, and whatever is
/// accepted must stay well inside what the store's reader accepts (128).
pub const MAX_FIELD_DEPTH: usize = 32;

/// Nesting depth of a value: a scalar is 0, `[]` or `{}` is 1.
pub fn depth(value: &Value) -> usize {
    // Iterative: the point is to measure input that might be too deep.
    let mut deepest = 0;
    let mut pending = vec![(value, 0usize)];
    while let Some((value, level)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(level + 1);
        pending.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

/// A JSON body parsed into `T`.
pub struct Valid<T>(pub T);

impl<S: Send + Sync, T: FromJson> FromRequest<S> for Valid<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::BadRequest {
                    message: rejection.body_text(),
                    job_id: None,
                }
            }
        })?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::Validation(vec![FieldError::body("", format!("Malformed JSON: {e}"))])
        })?;
        let Value::Object(object) = value else {
            return Err(ApiError::Validation(vec![FieldError::body(
                "",
                "The body must be a JSON object",
            )]));
        };
        let too_deep: Vec<FieldError> = object
            .iter()
            .filter(|(_, v)| depth(v) > MAX_FIELD_DEPTH)
            .map(|(k, _)| {
                FieldError::body(
                    k.as_str(),
                    format!("Nested more than {MAX_FIELD_DEPTH} levels deep"),
                )
            })
            .collect();
        if !too_deep.is_empty() {
            return Err(ApiError::Validation(too_deep));
        }
        T::from_json(&object)
            .map(Valid)
            .map_err(ApiError::Validation)
    }
}

/// The one normal form of a user id, wherever it arrives (body or query):
/// trimmed, 1–200 characters, no control characters.
pub fn user_id(raw: &str) -> Result<String, &'static str> {
    let id = raw.trim();
    if id.is_empty() {
        Err("Must not be empty")
    } else if id.chars().count() > 200 {
        Err("Must be at most 200 characters")
    } else if id.chars().any(char::is_control) {
        Err("Must not contain control characters")
    } else {
        Ok(id.to_string())
    }
}

/// Reads fields of one object, collecting every problem. It remembers the
/// keys it was asked for, so a strict type spells its fields once and
/// `reject_unread` reports the rest.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    prefix: &'a str,
    read: Vec<String>,
    pub errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Self::nested(object, "")
    }

    /// Fields of a nested object, reported as `prefix.field`.
    pub fn nested(object: &'a Map<String, Value>, prefix: &'a str) -> Self {
        Self {
            object,
            prefix,
            read: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn name(&self, field: &str) -> String {
        if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.prefix)
        }
    }

    pub fn fail(&mut self, field: &str, reason: impl Into<String>) {
        let name = self.name(field);
        self.errors.push(FieldError::body(name, reason));
    }

    /// The value, treating JSON `null` as absent.
    fn get(&mut self, field: &str) -> Option<&'a Value> {
        if !self.read.iter().any(|r| r == field) {
            self.read.push(field.to_string());
        }
        self.object.get(field).filter(|v| !v.is_null())
    }

    pub fn string(&mut self, field: &str, required: bool, max_chars: usize) -> Option<String> {
        match self.get(field) {
            None if required => self.fail(field, "Field required"),
            None => {}
            Some(Value::String(s)) => {
                let chars = s.chars().count();
                if required && s.trim().is_empty() {
                    self.fail(field, "Must not be empty");
                } else if chars > max_chars {
                    self.fail(
                        field,
                        format!("Must be at most {max_chars} characters (got {chars})"),
                    );
                } else {
                    return Some(s.clone());
                }
            }
            Some(_) => self.fail(field, "Must be a string"),
        }
        None
    }

    /// A required user id, in its normal form (see `user_id`).
    pub fn user_id(&mut self, field: &str) -> Option<String> {
        let raw = self.string(field, true, usize::MAX)?;
        user_id(&raw)
            .map_err(|reason| self.fail(field, reason))
            .ok()
    }

    /// True when the field is present as JSON `null`: for updates that
    /// clear a value, as opposed to leaving it out.
    pub fn is_null(&self, field: &str) -> bool {
        self.object.get(field).is_some_and(Value::is_null)
    }

    /// Reports every key no read asked for: a misspelt setting is an
    /// error, not silently ignored. Call it once every field has been read;
    /// the unknown keys are reported first, in key order.
    pub fn reject_unread(&mut self) {
        let mut unknown: Vec<String> = self
            .object
            .keys()
            .filter(|k| !self.read.contains(k))
            .cloned()
            .collect();
        unknown.sort();
        let found = std::mem::take(&mut self.errors);
        for key in unknown {
            self.fail(&key, "Unknown field");
        }
        self.errors.extend(found);
    }

    /// An optional true/false.
    pub fn flag(&mut self, field: &str) -> Option<bool> {
        match self.get(field) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.fail(field, "Must be true or false");
                None
            }
        }
    }

    /// An optional YYYY-MM-DD date.
    pub fn date(&mut self, field: &str) -> Option<chrono::NaiveDate> {
        let text = self.string(field, false, 10)?;
        let date = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
        if date.is_none() {
            self.fail(field, "Must be a date in YYYY-MM-DD form");
        }
        date
    }

    /// A list of objects, each with its index (`routes[0]`), at most `max`.
    pub fn objects(
        &mut self,
        field: &str,
        max_items: usize,
    ) -> Option<Vec<(String, &'a Map<String, Value>)>> {
        let items = match self.get(field) {
            None => return None,
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(field, "Must be a list of objects");
                return None;
            }
        };
        if items.len() > max_items {
            self.fail(field, format!("At most {max_items} items"));
            return None;
        }
        let mut objects = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let name = format!("{field}[{i}]");
            match item {
                Value::Object(map) => objects.push((self.name(&name), map)),
                _ => self.fail(&name, "Must be an object"),
            }
        }
        Some(objects)
    }

    pub fn boolean(&mut self, field: &str) -> Option<bool> {
        match self.get(field) {
            None => self.fail(field, "Field required"),
            Some(Value::Bool(b)) => return Some(*b),
            Some(_) => self.fail(field, "Must be true or false"),
        }
        None
    }

    pub fn integer(&mut self, field: &str, required: bool, min: i64, max: i64) -> Option<i64> {
        match self.get(field) {
            None if required => self.fail(field, "Field required"),
            None => {}
            Some(v) => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => return Some(n),
                Some(_) => self.fail(field, format!("Must be between {min} and {max}")),
                None => self.fail(field, "Must be a whole number"),
            },
        }
        None
    }

    pub fn number(&mut self, field: &str, min: f64) -> Option<f64> {
        match self.get(field) {
            None => {}
            Some(v) => match v.as_f64() {
                Some(n) if n.is_finite() && n >= min => return Some(n),
                Some(_) => self.fail(field, format!("Must be a number ≥ {min}")),
                None => self.fail(field, "Must be a number"),
            },
        }
        None
    }

    pub fn strings(
        &mut self,
        field: &str,
        max_items: usize,
        max_chars: usize,
    ) -> Option<Vec<String>> {
        let items = match self.get(field) {
            None => return None,
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(field, "Must be a list of strings");
                return None;
            }
        };
        if items.len() > max_items {
            self.fail(field, format!("At most {max_items} items"));
            return None;
        }
        let strings: Option<Vec<String>> = items
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| s.chars().count() <= max_chars)
                    .map(String::from)
            })
            .collect();
        if strings.is_none() {
            self.fail(
                field,
                format!("Every item must be a string of at most {max_chars} characters"),
            );
        }
        strings
    }

    pub fn object(&mut self, field: &str, required: bool) -> Option<Map<String, Value>> {
        match self.get(field) {
            None if required => self.fail(field, "Field required"),
            None => {}
            Some(Value::Object(map)) => return Some(map.clone()),
            Some(_) => self.fail(field, "Must be an object"),
        }
        None
    }

    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            value().ok_or_else(|| vec![FieldError::body("", "Invalid body")])
        } else {
            Err(self.errors)
        }
    }
}

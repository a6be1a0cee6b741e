//! The part of JSON Schema our answer schemas use, checked on every answer:
//! servers that enforce `json_schema` with a grammar stop a runaway model at
//! these bounds, but many (and every `json_object` fallback) only pass the
//! schema along, so an answer is held to it here as well. Supported:
//! `type` (one or a list), `enum`, `required`, `properties`, `items`,
//! `minItems`/`maxItems`, `minLength`/`maxLength`, `minimum`/`maximum`.
//! Numbers must be finite. The first violation is reported with its path.

use serde_json::Value;

/// Why `value` does not match `schema`, or `None` when it does.
pub fn violation(schema: &Value, value: &Value) -> Option<String> {
    check(schema, value, "answer").err()
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    if let Some(types) = schema.get("type") {
        let allowed: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !allowed.is_empty() && !allowed.iter().any(|t| is_type(value, t)) {
            return Err(format!("{path} must be {}", allowed.join(" or ")));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let names: Vec<String> = options.iter().map(Value::to_string).collect();
        return Err(format!("{path} must be one of {}", names.join(", ")));
    }
    match value {
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            if !n.is_finite() {
                return Err(format!("{path} must be a finite number"));
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && n < min
            {
                return Err(format!("{path} is {n}, below the minimum {min}"));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && n > max
            {
                return Err(format!("{path} is {n}, above the maximum {max}"));
            }
        }
        Value::String(s) => {
            let chars = s.chars().count();
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && chars as u64 > max
            {
                return Err(format!("{path} is {chars} characters long, over {max}"));
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && (chars as u64) < min
            {
                return Err(format!("{path} must have at least {min} characters"));
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                return Err(format!(
                    "{path} has {} items, over the limit of {max}",
                    items.len()
                ));
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                return Err(format!("{path} must have at least {min} items"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"))?;
                }
            }
        }
        Value::Object(fields) => {
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !fields.contains_key(name) {
                    return Err(format!("{path}.{name} is missing"));
                }
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, field_schema) in properties {
                    if let Some(field) = fields.get(name) {
                        check(field_schema, field, &format!("{path}.{name}"))?;
                    }
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
    Ok(())
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "required": ["destinations", "days"],
            "properties": {
                "destinations": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 20}},
                "days": {"type": ["integer", "null"], "minimum": 1, "maximum": 30},
                "tier": {"type": ["string", "null"], "enum": ["budget", "mid", "luxury", null]}}})
    }

    #[test]
    fn answers_within_the_bounds_pass() {
        for answer in [
            json!({"destinations": ["Tokyo"], "days": 5}),
            json!({"destinations": [], "days": null, "tier": null}),
            json!({"destinations": ["Hội An", "Huế"], "days": 30, "tier": "mid"}),
        ] {
            assert_eq!(violation(&schema(), &answer), None, "{answer}");
        }
    }

    /// What small local models really send: a list that loops, a number out
    /// of range, a made-up enum value, a wrong type, a missing field.
    #[test]
    fn each_broken_bound_is_named_with_its_path() {
        for (answer, expected) in [
            (
                json!({"destinations": vec!["Tokyo, Japan"; 40], "days": 5}),
                "answer.destinations has 40 items, over the limit of 3",
            ),
            (
                json!({"destinations": ["x".repeat(21)], "days": 5}),
                "answer.destinations[0] is 21 characters long, over 20",
            ),
            (
                json!({"destinations": [], "days": 400}),
                "answer.days is 400, above the maximum 30",
            ),
            (
                json!({"destinations": [], "days": 0}),
                "answer.days is 0, below the minimum 1",
            ),
            (
                json!({"destinations": [], "days": 2.5}),
                "answer.days must be integer or null",
            ),
            (
                json!({"destinations": [], "days": 3, "tier": "budget, luxury"}),
                "answer.tier must be one of \"budget\", \"mid\", \"luxury\", null",
            ),
            (json!({"destinations": []}), "answer.days is missing"),
        ] {
            assert_eq!(
                violation(&schema(), &answer).as_deref(),
                Some(expected),
                "{answer}"
            );
        }
    }
}

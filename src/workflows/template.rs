//! Templates in workflow definitions, rendered with minijinja (Jinja
//! syntax). Any string may hold `{{ … }}` over `input`, `steps.<id>.output`
//! and, inside `map`, `item`. A string that is exactly one `{{ expression }}`
//! keeps the JSON type of its value; a string with text around expressions
//! renders to a string. Undefined values are errors (strict mode), so a
//! missing key fails the step with a clear message instead of rendering
//! empty. Rendering is bounded by minijinja's fuel.

use std::collections::HashSet;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// Instructions one rendering may execute.
const FUEL: u64 = 100_000;

/// The template engine of workflows.
pub struct Templates {
    env: Environment<'static>,
}

impl Default for Templates {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        Templates { env }
    }
}

/// The expression of a string that is exactly one `{{ … }}`.
fn sole_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

impl Templates {
    /// Checks a string's syntax; returns the variables it reads, as dotted
    /// paths (`steps.classify.output`, `input.text`, `item`).
    ///
    /// Errors: the syntax error, in one line.
    pub fn variables(&self, text: &str) -> Result<HashSet<String>, String> {
        if !is_template(text) {
            return Ok(HashSet::new());
        }
        let found = match sole_expression(text) {
            Some(expression) => self
                .env
                .compile_expression(expression)
                .map(|e| e.undeclared_variables(true)),
            None => self
                .env
                .template_from_str(text)
                .map(|t| t.undeclared_variables(true)),
        };
        found.map_err(|err| one_line(&err))
    }

    /// Every string of a JSON value, with its JSON path under `at`.
    pub fn strings<'v>(value: &'v Value, at: &str, out: &mut Vec<(String, &'v str)>) {
        match value {
            Value::String(text) => out.push((at.to_string(), text)),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    Self::strings(item, &format!("{at}[{i}]"), out);
                }
            }
            Value::Object(fields) => {
                for (key, item) in fields {
                    Self::strings(item, &format!("{at}.{key}"), out);
                }
            }
            _ => {}
        }
    }

    /// Renders every string of `value` against `context`.
    ///
    /// Errors: an undefined value, a failing filter, running out of fuel.
    pub fn render(&self, value: &Value, context: &Value) -> Result<Value, String> {
        match value {
            Value::String(text) => self.render_str(text, context),
            Value::Array(items) => items
                .iter()
                .map(|v| self.render(v, context))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            Value::Object(fields) => fields
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.render(v, context)?)))
                .collect::<Result<Map<_, _>, String>>()
                .map(Value::Object),
            other => Ok(other.clone()),
        }
    }

    fn render_str(&self, text: &str, context: &Value) -> Result<Value, String> {
        if !is_template(text) {
            return Ok(Value::String(text.to_string()));
        }
        let context = minijinja::Value::from(Serde(context));
        match sole_expression(text) {
            Some(expression) => {
                let compiled = self
                    .env
                    .compile_expression(expression)
                    .map_err(|e| one_line(&e))?;
                let value = compiled.eval(context).map_err(|e| one_line(&e))?;
                if value.is_undefined() {
                    return Err(format!("'{expression}' is undefined"));
                }
                serde_json::to_value(&value).map_err(|e| format!("'{expression}' is not JSON: {e}"))
            }
            None => self
                .env
                .render_str(text, context)
                .map(Value::String)
                .map_err(|e| one_line(&e)),
        }
    }

    /// Renders a condition (`if`, `when`) and judges it as Jinja would.
    pub fn truthy(&self, text: &str, context: &Value) -> Result<bool, String> {
        Ok(match self.render_str(text, context)? {
            Value::Null => false,
            Value::Bool(b) => b,
            Value::Number(n) => n.as_f64() != Some(0.0),
            Value::String(s) => !s.is_empty() && s != "false" && s != "False",
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
        })
    }
}

fn one_line(err: &minijinja::Error) -> String {
    let mut text = err.to_string();
    if let Some(detail) = err.detail() {
        text = format!("{text}: {detail}");
    }
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sole_expressions_keep_their_type() {
        let t = Templates::default();
        let ctx = json!({"input": {"n": 3, "lines": ["a", "b"]}, "steps": {"c": {"output": "refund please"}}});
        assert_eq!(t.render(&json!("{{ input.n }}"), &ctx).unwrap(), json!(3));
        assert_eq!(
            t.render(&json!("{{ input.lines }}"), &ctx).unwrap(),
            json!(["a", "b"])
        );
        assert_eq!(
            t.render(&json!("n={{ input.n }}"), &ctx).unwrap(),
            json!("n=3")
        );
        assert_eq!(
            t.render(&json!({"x": ["{{ input.n + 1 }}"]}), &ctx)
                .unwrap(),
            json!({"x": [4]})
        );
        assert!(t.truthy("{{ 'refund' in steps.c.output }}", &ctx).unwrap());
        assert!(!t.truthy("{{ 'cancel' in steps.c.output }}", &ctx).unwrap());
    }

    #[test]
    fn missing_keys_are_errors() {
        let t = Templates::default();
        let err = t
            .render(&json!("{{ input.nope }}"), &json!({"input": {}}))
            .unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        let err = t
            .render(&json!("x {{ steps.a.output }}"), &json!({"steps": {}}))
            .unwrap_err();
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn variables_are_found_and_syntax_checked() {
        let t = Templates::default();
        let vars = t
            .variables("{{ steps.classify.output }} and {{ item | upper }}")
            .unwrap();
        assert!(
            vars.contains("steps.classify.output") && vars.contains("item"),
            "{vars:?}"
        );
        assert!(t.variables("{{ oops ( }}").is_err());
    }
}

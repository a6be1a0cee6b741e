//! Making a prompt fit the model: its size estimated in tokens, the
//! grounding facts trimmed so the prompt leaves room for the answer, and the
//! answer's cap lowered when even the trimmed prompt leaves less.

use serde_json::Value;

use super::client::Message;

/// Characters per token assumed when estimating. Tokenizers average 3–4
/// characters per token on English and JSON; dividing by 3 over-counts on
/// purpose, so a prompt estimated to fit does fit.
const CHARS_PER_TOKEN: usize = 3;
/// What each message costs beyond its text (role and framing tokens).
const PER_MESSAGE: u32 = 8;
/// Slack for the chat template and the estimate's error.
const MARGIN: u32 = 64;
/// No answer is asked for in fewer tokens than this: a prompt that leaves
/// less room does not fit.
const MIN_ANSWER: u32 = 64;
/// Strings in the facts are shortened to this many characters when lists
/// alone cannot make them fit.
const SHORT_STRING: usize = 80;

/// Over-estimates how many tokens `text` takes (see `CHARS_PER_TOKEN`).
pub fn estimate_tokens(text: &str) -> u32 {
    u32::try_from(text.chars().count().div_ceil(CHARS_PER_TOKEN)).unwrap_or(u32::MAX)
}

/// What a structured call asks: a system message, and a user message made
/// of `before`, the grounding facts as JSON, and `after`. The facts are kept
/// apart because they are what gives way when the prompt is too long.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub system: String,
    pub before: String,
    pub facts: Option<Value>,
    pub after: String,
}

impl Prompt {
    /// A prompt without facts to trim.
    pub fn new(system: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            system: system.into(),
            before: user.into(),
            facts: None,
            after: String::new(),
        }
    }

    /// A prompt whose user message is `before`, the facts, then `after`.
    pub fn grounded(
        system: impl Into<String>,
        before: impl Into<String>,
        facts: Value,
        after: impl Into<String>,
    ) -> Self {
        Self {
            system: system.into(),
            before: before.into(),
            facts: Some(facts),
            after: after.into(),
        }
    }
}

/// The messages to send and the answer cap that fits beside them.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    /// The facts' JSON length in characters before and after trimming, when
    /// they were trimmed.
    pub trimmed: Option<(usize, usize)>,
}

/// The prompt does not fit the context even with the facts trimmed away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    pub prompt_tokens: u32,
    pub context: u32,
}

/// Fits `prompt` (and the repair `turns` after it) into `context` tokens
/// with room for an answer of up to `cap` tokens. The facts give way first:
/// only `share` (0–1) of the room left for them is used (less than 1 after a
/// server said the prompt was too long although the estimate fitted). With
/// the context unknown the prompt goes whole, its facts cut to `share`.
pub fn fit(
    prompt: &Prompt,
    turns: &[Message],
    context: Option<u32>,
    cap: u32,
    share: f64,
) -> Result<Fitted, NoRoom> {
    let full = prompt.facts.as_ref().map(Value::to_string);
    let full_len = full.as_deref().map_or(0, |f| f.chars().count());
    let budget = match context {
        None => scaled(full_len, share),
        Some(context) => {
            let fixed = fixed_tokens(prompt, turns);
            let room = context.saturating_sub(fixed + MARGIN + cap);
            scaled(room as usize * CHARS_PER_TOKEN, share)
        }
    };
    let (facts, trimmed) = match (&prompt.facts, full) {
        (Some(facts), Some(_)) if full_len > budget => {
            let cut = trim_facts(facts, budget).to_string();
            let cut_len = cut.chars().count();
            (cut, Some((full_len, cut_len)))
        }
        (_, json) => (json.unwrap_or_default(), None),
    };
    let mut messages = vec![
        Message::system(prompt.system.clone()),
        Message::user(format!("{}{facts}{}", prompt.before, prompt.after)),
    ];
    messages.extend_from_slice(turns);
    let max_tokens = match context {
        None => cap,
        Some(context) => {
            let prompt_tokens = prompt_tokens(&messages);
            let room = context.saturating_sub(prompt_tokens + MARGIN);
            if room < MIN_ANSWER.min(cap) {
                return Err(NoRoom {
                    prompt_tokens,
                    context,
                });
            }
            cap.min(room)
        }
    };
    Ok(Fitted {
        messages,
        max_tokens,
        trimmed,
    })
}

/// The estimated size of `messages` in tokens.
pub fn prompt_tokens(messages: &[Message]) -> u32 {
    messages
        .iter()
        .map(|m| estimate_tokens(&m.content) + PER_MESSAGE)
        .sum()
}

/// Everything but the facts.
fn fixed_tokens(prompt: &Prompt, turns: &[Message]) -> u32 {
    estimate_tokens(&prompt.system)
        + estimate_tokens(&prompt.before)
        + estimate_tokens(&prompt.after)
        + 2 * PER_MESSAGE
        + prompt_tokens(turns)
}

fn scaled(chars: usize, share: f64) -> usize {
    (chars as f64 * share.clamp(0.0, 1.0)) as usize
}

/// Shrinks `facts` until its JSON takes at most `budget` characters. Lists
/// of plain items (attractions, neighbourhoods, tips) lose their last items
/// first, the longest list first, down to one item each; then long strings
/// are shortened; then lists of lists (several destinations) lose items;
/// then the largest fields go. The top-level keys stay while anything else
/// can give way.
pub fn trim_facts(facts: &Value, budget: usize) -> Value {
    let mut value = facts.clone();
    let fits = |v: &Value| v.to_string().chars().count() <= budget;
    while !fits(&value) {
        if pop_longest(&mut value, true) {
            continue;
        }
        if shorten_strings(&mut value) {
            continue;
        }
        if pop_longest(&mut value, false) || remove_largest_field(&mut value, 0) {
            continue;
        }
        break;
    }
    value
}

/// Drops the last item of the longest list with more than one item (only
/// of lists whose items hold no lists, when `leaves_only`). Ties go to the
/// list whose JSON is largest.
fn pop_longest(value: &mut Value, leaves_only: bool) -> bool {
    let mut best: Option<(usize, usize, String)> = None;
    visit_lists(value, String::new(), &mut |pointer, items| {
        let eligible = items.len() > 1 && (!leaves_only || items.iter().all(|i| !holds_list(i)));
        if !eligible {
            return;
        }
        let key = (items.len(), Value::from(items.to_vec()).to_string().len());
        if best.as_ref().is_none_or(|(n, size, _)| key > (*n, *size)) {
            best = Some((key.0, key.1, pointer.to_string()));
        }
    });
    let Some((_, _, pointer)) = best else {
        return false;
    };
    value
        .pointer_mut(&pointer)
        .and_then(Value::as_array_mut)
        .and_then(Vec::pop)
        .is_some()
}

fn visit_lists(value: &Value, pointer: String, found: &mut dyn FnMut(&str, &[Value])) {
    match value {
        Value::Array(items) => {
            found(&pointer, items);
            for (i, item) in items.iter().enumerate() {
                visit_lists(item, format!("{pointer}/{i}"), found);
            }
        }
        Value::Object(fields) => {
            for (key, field) in fields {
                let key = key.replace('~', "~0").replace('/', "~1");
                visit_lists(field, format!("{pointer}/{key}"), found);
            }
        }
        _ => {}
    }
}

fn holds_list(value: &Value) -> bool {
    match value {
        Value::Array(_) => true,
        Value::Object(fields) => fields.values().any(holds_list),
        _ => false,
    }
}

/// Shortens every string longer than `SHORT_STRING`; false when none was.
fn shorten_strings(value: &mut Value) -> bool {
    let children: Vec<&mut Value> = match value {
        Value::String(s) if s.chars().count() > SHORT_STRING => {
            let mut short: String = s.chars().take(SHORT_STRING - 1).collect();
            short.push('…');
            *s = short;
            return true;
        }
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(fields) => fields.values_mut().collect(),
        _ => return false,
    };
    // Every child is shortened, not only the first that can be.
    children
        .into_iter()
        .map(shorten_strings)
        .filter(|shortened| *shortened)
        .count()
        > 0
}

/// Removes the field with the largest JSON below the top level (or at the
/// top level when nothing below is left); false when no field is left.
fn remove_largest_field(value: &mut Value, depth: usize) -> bool {
    let children: Vec<&mut Value> = match value {
        Value::Object(fields) => fields.values_mut().collect(),
        Value::Array(items) => items.iter_mut().collect(),
        _ => return false,
    };
    let mut children = children;
    children.sort_by_key(|child| std::cmp::Reverse(child.to_string().len()));
    for child in children {
        if remove_largest_field(child, depth + 1) {
            return true;
        }
    }
    if depth == 0 {
        return false;
    }
    let Value::Object(fields) = value else {
        return false;
    };
    let largest = fields
        .iter()
        .max_by_key(|(_, v)| v.to_string().len())
        .map(|(k, _)| k.clone());
    largest.is_some_and(|key| fields.remove(&key).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts() -> Value {
        json!({
            "trip": {"destinations": ["tokyo"], "days": 5},
            "destinations": [{
                "city": "Tokyo",
                "attractions": (0..12).map(|i| json!({"name": format!("Attraction number {i}"), "cost_usd": i})).collect::<Vec<_>>(),
                "tips": ["Carry cash for small shops", "Trains stop around midnight"],
                "visa_note": "x".repeat(300),
            }]
        })
    }

    #[test]
    fn trimming_keeps_the_first_items_and_every_destination() {
        let full = facts();
        let budget = full.to_string().len() / 2;
        let cut = trim_facts(&full, budget);
        assert!(cut.to_string().len() <= budget, "{cut}");
        assert_eq!(cut["destinations"].as_array().unwrap().len(), 1);
        assert_eq!(cut["trip"], full["trip"]);
        let attractions = cut["destinations"][0]["attractions"].as_array().unwrap();
        assert!(!attractions.is_empty() && attractions.len() < 12);
        assert_eq!(attractions[0], full["destinations"][0]["attractions"][0]);
    }

    #[test]
    fn trimming_to_nothing_stops_without_looping() {
        let cut = trim_facts(&facts(), 0);
        assert!(cut.is_object());
        assert!(cut.to_string().len() < 40, "{cut}");
    }

    #[test]
    fn a_prompt_that_fits_goes_whole_with_the_full_cap() {
        let prompt = Prompt::grounded("system", "Facts:\n", facts(), "\nDraft");
        let fitted = fit(&prompt, &[], Some(100_000), 1_000, 1.0).unwrap();
        assert_eq!(fitted.max_tokens, 1_000);
        assert!(fitted.trimmed.is_none());
        assert!(fitted.messages[1].content.contains("Attraction number 11"));
    }

    #[test]
    fn facts_give_way_so_prompt_and_answer_fit_the_context() {
        let prompt = Prompt::grounded("system", "Facts:\n", facts(), "\nDraft");
        let whole = prompt_tokens(&fit(&prompt, &[], None, 300, 1.0).unwrap().messages);
        let context = whole + 300 + MARGIN - 150;
        let fitted = fit(&prompt, &[], Some(context), 300, 1.0).unwrap();
        let (before, after) = fitted.trimmed.expect("trimmed");
        assert!(after < before);
        assert!(prompt_tokens(&fitted.messages) + fitted.max_tokens + MARGIN <= context);
        assert_eq!(fitted.max_tokens, 300);
        assert!(fitted.messages[1].content.ends_with("\nDraft"));
    }

    #[test]
    fn a_context_too_small_for_the_fixed_part_does_not_fit() {
        let prompt = Prompt::new("s".repeat(3_000), "user");
        let err = fit(&prompt, &[], Some(900), 500, 1.0).unwrap_err();
        assert_eq!(err.context, 900);
        let fitted = fit(&prompt, &[], Some(1_400), 500, 1.0).unwrap();
        assert!(fitted.max_tokens < 500, "the cap shrinks to what is left");
    }

    #[test]
    fn a_share_below_one_trims_harder_even_without_a_known_context() {
        let prompt = Prompt::grounded("system", "", facts(), "");
        let half = fit(&prompt, &[], None, 100, 0.5).unwrap();
        let (before, after) = half.trimmed.unwrap();
        assert!(after <= before / 2);
    }
}

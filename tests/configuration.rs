//! The documented configuration and the code agree: every variable the
//! service reads is in `.env.example` and the README's table, and nothing
//! documented is unread.

use std::collections::BTreeSet;

use lotara::config::VARIABLES;

fn read(path: &str) -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + path)
        .expect(path)
}

fn env_example_names() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim().to_string()))
        .filter(|k| !k.is_empty())
        .collect()
}

#[test]
fn env_example_lists_exactly_the_variables_the_service_reads() {
    let code: BTreeSet<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
    let documented = env_example_names();
    assert_eq!(
        code.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "read by config.rs but missing from .env.example"
    );
    assert_eq!(
        documented.difference(&code).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "in .env.example but never read"
    );
}

#[test]
fn config_reads_only_listed_variables() {
    let source = read("src/config.rs");
    let mut read_in_code = BTreeSet::new();
    for call in [
        "r.raw(\"",
        "r.parse(\"",
        "r.positive(\"",
        "r.secs(\"",
        "r.string(\"",
        "r.list(\"",
        "r.boolean(\"",
        "r.cron(\"",
        "r.http_url(\"",
    ] {
        for part in source.split(call).skip(1) {
            if let Some(name) = part.split('"').next() {
                read_in_code.insert(name.to_string());
            }
        }
    }
    let listed: BTreeSet<String> = VARIABLES.iter().map(|v| v.to_string()).collect();
    let unlisted: Vec<_> = read_in_code.difference(&listed).collect();
    assert!(
        unlisted.is_empty(),
        "read but not in VARIABLES: {unlisted:?}"
    );
}

#[test]
fn the_readme_configuration_table_names_every_variable() {
    let readme = read("README.md");
    let missing: Vec<&&str> = VARIABLES
        .iter()
        .filter(|v| !readme.contains(&format!("| `{v}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "README configuration table lacks {missing:?}"
    );
}

//! The documented configuration and the code agree: every variable the
//! service reads is in `.env.example` and the README's table, and nothing
//! documented is unread.

use std::collections::BTreeSet;

use lotara::config::{Config, VARIABLES};

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

#[test]
fn a_debug_print_of_the_config_leaks_no_secret() {
    let secrets = [
        ("API_KEYS", "api-key-one,api-key-two"),
        ("LLM_API_KEY", "sk-llm-secret"),
        ("OPIK_API_KEY", "opik-secret"),
    ];
    let vars = secrets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::from_map(&vars).expect("valid configuration");
    assert!(config.llm.is_some() && config.opik.is_some());
    let printed = format!("{config:?} {config:#?}");
    for value in ["api-key-one", "api-key-two", "sk-llm-secret", "opik-secret"] {
        assert!(!printed.contains(value), "{value} leaked: {printed}");
    }
    assert!(printed.contains("[redacted]"), "{printed}");
}

/// `.env.example` copied to `.env` must load as it is: dotenvy rejects
/// unquoted spaces, and a rejected file would stop the service.
#[test]
fn env_example_parses_as_a_dotenv_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example");
    let pairs: Vec<(String, String)> = dotenvy::from_path_iter(path)
        .expect(".env.example opens")
        .collect::<Result<_, _>>()
        .expect(".env.example parses as a .env file");
    assert!(
        pairs.len() >= VARIABLES.len() - 1,
        "{} settings read",
        pairs.len()
    );
}

#[test]
fn a_malformed_env_file_stops_the_start_with_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("lotara-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        "PORT=8000\nPRICE_CHECK_CRON=0 0 */6 * * *\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lotara"))
        .arg("serve")
        .current_dir(&dir)
        .env_clear()
        .output()
        .expect("lotara runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".env") && stderr.contains("quote"),
        "{stderr}"
    );
}

//! The current value of every flag, and which ones the user set.
//!
//! Every source (command line, `ETCD_*` environment, config file) writes into one
//! `FlagStore`; the typed `EtcdConfig` is then built from it in one place. A name is
//! "set" once any source assigned it, even to its default value (etcd's `IsSet`).

use std::collections::{BTreeMap, BTreeSet};

use super::flags::{ignored_spec, lookup, FlagSpec, FLAGS};
use super::url::EtcdUrl;
use super::value::{apply, Value};
use super::StartupLog;

/// Flag values by name, plus the names that were set.
#[derive(Debug)]
pub(crate) struct FlagStore {
    values: BTreeMap<&'static str, Value>,
    set: BTreeSet<String>,
    /// Warnings and notes produced while setting values, in order.
    pub(crate) logs: Vec<StartupLog>,
}

impl FlagStore {
    /// Every flag at its default.
    pub(crate) fn new() -> FlagStore {
        FlagStore {
            values: FLAGS.iter().map(|f| (f.name, f.default_value())).collect(),
            set: BTreeSet::new(),
            logs: Vec::new(),
        }
    }

    /// Applies flag text to a flag by name; `Err` is Go's reason text. The caller has
    /// checked that the name exists.
    pub(crate) fn set_text(&mut self, name: &str, text: &str) -> Result<(), String> {
        if let Some(spec) = ignored_spec(name) {
            let mut scratch = Value::Ignored;
            if let Some(warning) = apply(spec.kind, spec.name, &mut scratch, text)? {
                self.logs.push(StartupLog::IgnoredFlag { message: warning });
            }
            self.set.insert(name.to_string());
            return Ok(());
        }
        let spec = lookup(name).expect("set_text on a known flag");
        let value = self
            .values
            .get_mut(spec.name)
            .expect("every flag has a value");
        apply(spec.kind, spec.name, value, text)?;
        self.set.insert(name.to_string());
        Ok(())
    }

    /// Stores an already typed value (config files) and marks it set.
    pub(crate) fn set_value(&mut self, spec: &'static FlagSpec, value: Value) {
        self.values.insert(spec.name, value);
        self.set.insert(spec.name.to_string());
    }

    /// True once any source assigned the flag.
    pub(crate) fn is_set(&self, name: &str) -> bool {
        self.set.contains(name)
    }

    /// Names that were set.
    pub(crate) fn set_names(&self) -> &BTreeSet<String> {
        &self.set
    }

    /// Names whose value differs from the built-in default.
    pub(crate) fn changed_names(&self) -> BTreeSet<String> {
        let mut changed: BTreeSet<String> = FLAGS
            .iter()
            .filter(|f| self.values[f.name] != f.default_value())
            .map(|f| f.name.to_string())
            .collect();
        // Ignored legacy flags have no value; setting one at all counts as a change.
        changed.extend(
            self.set
                .iter()
                .filter(|n| ignored_spec(n).is_some())
                .cloned(),
        );
        changed
    }

    fn value(&self, name: &str) -> &Value {
        self.values
            .get(name)
            .unwrap_or_else(|| panic!("unknown flag {name}"))
    }

    /// A text flag's value.
    pub(crate) fn str(&self, name: &str) -> &str {
        match self.value(name) {
            Value::Str(s) => s,
            other => panic!("--{name} is not text: {other:?}"),
        }
    }

    /// Replaces a text flag's value without marking it set.
    pub(crate) fn put_str(&mut self, name: &'static str, text: String) {
        self.values.insert(name, Value::Str(text));
    }

    /// A boolean flag's value.
    pub(crate) fn bool(&self, name: &str) -> bool {
        match self.value(name) {
            Value::Bool(b) => *b,
            other => panic!("--{name} is not a bool: {other:?}"),
        }
    }

    /// An unsigned flag's value.
    pub(crate) fn uint(&self, name: &str) -> u64 {
        match self.value(name) {
            Value::Uint(n) => *n,
            other => panic!("--{name} is not unsigned: {other:?}"),
        }
    }

    /// A signed flag's value.
    pub(crate) fn int(&self, name: &str) -> i64 {
        match self.value(name) {
            Value::Int(n) => *n,
            other => panic!("--{name} is not signed: {other:?}"),
        }
    }

    /// A duration flag's value in whole milliseconds (negative durations count as 0).
    pub(crate) fn duration_ms(&self, name: &str) -> u64 {
        match self.value(name) {
            Value::DurationNs(ns) => (*ns).max(0) as u64 / 1_000_000,
            other => panic!("--{name} is not a duration: {other:?}"),
        }
    }

    /// A URL-list flag's value.
    pub(crate) fn urls(&self, name: &str) -> &[EtcdUrl] {
        match self.value(name) {
            Value::Urls(u) => u,
            other => panic!("--{name} is not a URL list: {other:?}"),
        }
    }

    /// A string-list flag's value.
    pub(crate) fn list(&self, name: &str) -> &[String] {
        match self.value(name) {
            Value::List(l) => l,
            other => panic!("--{name} is not a list: {other:?}"),
        }
    }
}

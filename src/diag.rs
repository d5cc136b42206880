//! Diagnostics on stderr: `-v` / `-vv` / `-vvv` and `MCP_WARDEN_LOG`.
//!
//! Owns choosing the level (the more verbose of the flag and the variable)
//! and the one `tracing` subscriber that prints mcp-warden's own events as
//! `mcp-warden: +12.3ms debug: message key=value` lines, one write per line.
//! Nothing is installed unless a level was asked for, so a quiet start costs
//! nothing. Only events whose target is this crate are printed: the AWS SDK,
//! hyper, rustls and others emit their own `tracing` events (some at debug or
//! trace describe signed requests), and those never reach stderr through here.
//!
//! Must not print anything itself except one line for an unknown
//! `MCP_WARDEN_LOG` value (the value is not echoed). Callers put only
//! non-secret facts in events: references as given, backend names,
//! locations, paths, URLs without their query, durations — never a value.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber, subscriber::Interest};

/// The environment variable naming a level: error, warn, info, debug, trace (or off).
pub const LOG_ENV: &str = "MCP_WARDEN_LOG";

/// This crate's event targets start with this (module paths).
const OWN_TARGET: &str = "mcp_warden";

/// The level `-v` repeated `count` times asks for: none, info, debug, trace.
fn level_of_count(count: u8) -> Option<Level> {
    match count {
        0 => None,
        1 => Some(Level::INFO),
        2 => Some(Level::DEBUG),
        _ => Some(Level::TRACE),
    }
}

/// Why `MCP_WARDEN_LOG` could not be read as a level.
#[derive(Debug, PartialEq, Eq)]
pub struct UnknownLevel;

/// `MCP_WARDEN_LOG`'s value as a level: `Ok(None)` for unset, empty or `off`.
pub fn level_of_env(text: Option<&str>) -> Result<Option<Level>, UnknownLevel> {
    let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match t.to_ascii_lowercase().as_str() {
        "off" | "0" => Ok(None),
        "error" => Ok(Some(Level::ERROR)),
        "warn" | "warning" => Ok(Some(Level::WARN)),
        "info" => Ok(Some(Level::INFO)),
        "debug" => Ok(Some(Level::DEBUG)),
        "trace" => Ok(Some(Level::TRACE)),
        _ => Err(UnknownLevel),
    }
}

/// The more verbose of the two (tracing orders TRACE as the greatest).
pub fn chosen(flag_count: u8, env: Option<Level>) -> Option<Level> {
    level_of_count(flag_count).max(env)
}

/// Installs the stderr subscriber when `-v` was given `flag_count` times or
/// `MCP_WARDEN_LOG` names a level; does nothing otherwise. Call once, early.
pub fn init(flag_count: u8) {
    let raw = std::env::var(LOG_ENV).ok();
    let env = level_of_env(raw.as_deref()).unwrap_or_else(|UnknownLevel| {
        eprintln!(
            "mcp-warden: {LOG_ENV} is not one of off, error, warn, info, debug, trace \
             (its value is not shown); ignored"
        );
        None
    });
    let Some(max) = chosen(flag_count, env) else {
        return;
    };
    let sub = Stderr {
        max,
        start: Instant::now(),
        next_span: AtomicU64::new(1),
    };
    // Fails only when a subscriber is already set (a second init): keep that one.
    let _ = tracing::subscriber::set_global_default(sub);
}

/// Whether an event's target is this crate (`mcp_warden` or `mcp_warden::...`).
fn own_target(target: &str) -> bool {
    target
        .strip_prefix(OWN_TARGET)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// Prints this crate's events up to `max` on stderr.
struct Stderr {
    max: Level,
    start: Instant,
    next_span: AtomicU64,
}

impl Stderr {
    fn wanted(&self, m: &Metadata<'_>) -> bool {
        *m.level() <= self.max && own_target(m.target())
    }
}

impl Subscriber for Stderr {
    fn register_callsite(&self, m: &'static Metadata<'static>) -> Interest {
        if self.wanted(m) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, m: &Metadata<'_>) -> bool {
        self.wanted(m)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(self.max.into())
    }

    // Spans are not printed; ids only need to be unique and non-zero.
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = format_line(self.start.elapsed(), event.metadata().level(), event);
        // One write per line, so concurrent tasks and the relayed child stderr do not interleave mid-line.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// `mcp-warden: +1.2ms info: message key=value\n`.
fn format_line(elapsed: std::time::Duration, level: &Level, event: &Event<'_>) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let ms = elapsed.as_secs_f64() * 1000.0;
    let level = level.as_str().to_ascii_lowercase();
    let mut line = format!("mcp-warden: +{ms:.1}ms {level}: {}", fields.message);
    line.push_str(&fields.rest);
    // A field could hold a newline (a path); one event stays one line.
    let mut line = line.replace(['\n', '\r'], " ");
    line.push('\n');
    line
}

/// An event's message and its other fields as ` key=value`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

/// A duration as diagnostics show it: `1.234ms`.
pub fn ms(d: std::time::Duration) -> String {
    format!("{:.3}ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_from_the_variable_ignore_case_and_refuse_unknown_words() {
        assert_eq!(level_of_env(None), Ok(None));
        assert_eq!(level_of_env(Some(" ")), Ok(None));
        assert_eq!(level_of_env(Some("off")), Ok(None));
        assert_eq!(level_of_env(Some("DEBUG")), Ok(Some(Level::DEBUG)));
        assert_eq!(level_of_env(Some("warning")), Ok(Some(Level::WARN)));
        assert_eq!(level_of_env(Some("trace")), Ok(Some(Level::TRACE)));
        assert_eq!(level_of_env(Some("loud")), Err(UnknownLevel));
    }

    #[test]
    fn the_more_verbose_of_flag_and_variable_wins() {
        assert_eq!(chosen(0, None), None);
        assert_eq!(chosen(1, None), Some(Level::INFO));
        assert_eq!(chosen(2, Some(Level::INFO)), Some(Level::DEBUG));
        assert_eq!(chosen(1, Some(Level::TRACE)), Some(Level::TRACE));
        assert_eq!(chosen(0, Some(Level::WARN)), Some(Level::WARN));
        assert_eq!(chosen(9, None), Some(Level::TRACE));
    }

    #[test]
    fn other_crates_events_are_never_wanted() {
        assert!(own_target("mcp_warden::resolve"));
        assert!(own_target("mcp_warden"));
        assert!(!own_target("aws_sigv4::http_request::sign"));
        assert!(!own_target("hyper_util::client"));
        assert!(!own_target("mcp_warden_fake"));
    }
}

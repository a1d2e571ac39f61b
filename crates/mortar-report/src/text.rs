//! Small text helpers shared by the renderers: terminal-safe strings and colour.

use std::fmt::Write as _;

/// Makes text taken from a report safe to print on a terminal: every control
/// character (escape, carriage return, newline, bell, C1 controls...) is shown
/// escaped, so a target cannot inject terminal sequences and no escape byte
/// reaches the output unless the renderer adds it for colour.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push(' '),
            c if c.is_control() => {
                let code = c as u32;
                if code <= 0xff {
                    let _ = write!(out, "\\x{code:02x}");
                } else {
                    let _ = write!(out, "\\u{{{code:x}}}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Text from the target made safe inside HTML and XML, content and
/// attribute values alike: the five markup characters as references (`'` as
/// `&#39;`, which both read), tab and line ends kept, every other control
/// character and the XML non-characters U+FFFE/U+FFFF dropped.
pub fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_markup(&mut out, c);
    }
    out
}

/// One character of [`escape_markup`].
pub(crate) fn push_markup(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        '\t' | '\n' | '\r' => out.push(c),
        c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
        c => out.push(c),
    }
}

/// SGR parameters for the colours the renderers use.
pub(crate) mod sgr {
    /// Bold red.
    pub const BOLD_RED: &str = "1;31";
    /// Red.
    pub const RED: &str = "31";
    /// Yellow.
    pub const YELLOW: &str = "33";
    /// Green.
    pub const GREEN: &str = "32";
    /// Cyan.
    pub const CYAN: &str = "36";
    /// Dim.
    pub const DIM: &str = "2";
    /// Bold.
    pub const BOLD: &str = "1";
}

/// Wraps already formatted (and padded) text in an SGR sequence when colour is on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Painter {
    pub color: bool,
}

impl Painter {
    /// `text` in the colour `code` (SGR parameters), or unchanged without colour.
    pub(crate) fn paint(self, text: &str, code: &str) -> String {
        if self.color && !text.is_empty() { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_control_characters() {
        assert_eq!(clean("a\x1b[31mb\r\nc\u{9b}d\te"), "a\\x1b[31mb\\x0d\\x0ac\\x9bd e");
        assert_eq!(clean("héllo /users/{id}"), "héllo /users/{id}");
    }

    #[test]
    fn painter_only_colours_when_asked() {
        assert_eq!(Painter { color: false }.paint("x", sgr::RED), "x");
        assert_eq!(Painter { color: true }.paint("x", sgr::RED), "\x1b[31mx\x1b[0m");
    }
}

//! A simulated POSIX shell, standing in for `sh -c LINE 2>&1` in the
//! command-injection scenario: the lab must show a shell running an input
//! without being one (a lab on a developer's laptop must not be a real RCE),
//! so nothing here spawns a process, touches a file or reads the environment.
//!
//! What it does as `dash` does (its messages included): lines run one after
//! the other, each parsed whole before it runs (a syntax error stops the
//! script); `;`, `&`, newline, `|` (only the last command's output is kept,
//! the others' errors are), `&&` and `||` with exit statuses (commands run in
//! turn, so `&` waits and a pipeline's errors come first); single
//! quotes (literal), double quotes (expansions apply, no splitting),
//! backslash escapes, `#` comments; `$(..)` and backticks (trailing newlines
//! removed), `$((..))` on integers (`+ - * / %`, parentheses), `$NAME`,
//! `${NAME}` and `$?` (the environment is empty: every name is unset), with
//! word splitting of unquoted results on blanks. The commands are `echo`
//! (dash's, escapes included), `true`, `false`, `:` and `lookup-host`; any
//! other prints `sh: N: CMD: not found`. Redirections parse; `/dev/null` discards, any
//! other file cannot be opened or created (the file system is out of reach);
//! descriptor duplications change nothing, stderr being merged anyway.
//! Not simulated: pathname expansion (nothing matches, words stay as they
//! are), subshells, functions, control structures, assignments.
//!
//! Bounded: the script is at most [`MAX_SCRIPT`] bytes, runs at most
//! [`MAX_STEPS`] commands and expansions, nests substitutions at most
//! [`MAX_DEPTH`] deep and writes at most [`MAX_OUTPUT`] bytes.

/// Longest script accepted, in bytes.
pub(crate) const MAX_SCRIPT: usize = 256;
/// Commands and expansions run at most.
pub(crate) const MAX_STEPS: usize = 64;
/// Substitutions nested at most.
pub(crate) const MAX_DEPTH: usize = 8;
/// Output kept at most, in bytes.
pub(crate) const MAX_OUTPUT: usize = 4096;

/// The hosts `lookup-host` knows, with the last octet of their 10.0.0.0/24 address.
pub(crate) const HOSTS: &[(&str, u8)] =
    &[("api.internal", 11), ("db.internal", 12), ("cache.internal", 13), ("queue.internal", 14)];

/// `lookup-host NAME`: its output and exit status, the same whether a shell
/// or the fixed variant calls it (with the name as one argument).
pub(crate) fn lookup_host(args: &[String]) -> (String, i32) {
    let Some(name) = args.first() else {
        return ("Usage: lookup-host NAME\n".to_owned(), 1);
    };
    match HOSTS.iter().find(|(host, _)| host.eq_ignore_ascii_case(name)) {
        Some((_, octet)) => (format!("{name} has address 10.0.0.{octet}\n"), 0),
        None => (format!("Host {name} not found: 3(NXDOMAIN)\n"), 1),
    }
}

/// Runs `script` as `sh -c SCRIPT 2>&1` would: the merged output and the exit status.
pub(crate) fn run(script: &str) -> (String, i32) {
    let mut shell = Shell { merged: String::new(), status: 0, steps: 0 };
    if script.len() > MAX_SCRIPT {
        shell.write_err(&format!("sh: 0: script longer than {MAX_SCRIPT} bytes\n"));
        return (shell.merged, 2);
    }
    let mut parser = Parser::new(script, 0);
    loop {
        let line = match parser.complete_command() {
            Ok(Some(line)) => line,
            Ok(None) => break,
            Err(error) => {
                shell.write_err(&format!("sh: {}: {}\n", error.line, error.message));
                return (shell.merged, 2);
            }
        };
        if let Err(fatal) = shell.run_list(&line, &mut Sink::Top) {
            shell.write_err(&format!("sh: {}: {}\n", fatal.line, fatal.message));
            return (shell.merged, 2);
        }
    }
    (shell.merged, shell.status)
}

// ---- syntax ----

/// A piece of a word, and whether it was quoted (quoted results are not split).
#[derive(Debug)]
enum Part {
    Literal(String),
    Param(String),
    Command(Vec<AndOr>),
    Arith(String),
}

#[derive(Debug, Default)]
struct Word {
    parts: Vec<(Part, bool)>,
}

#[derive(Debug)]
enum RedirectOp {
    /// `<FILE`.
    Read,
    /// `>FILE` or `>>FILE`.
    Write,
    /// `>&N`, `<&N`: a duplication.
    Dup,
}

#[derive(Debug)]
struct Redirect {
    fd: u32,
    op: RedirectOp,
    target: Word,
}

#[derive(Debug)]
struct Simple {
    words: Vec<Word>,
    redirects: Vec<Redirect>,
    line: usize,
}

#[derive(Debug)]
struct Pipeline(Vec<Simple>);

#[derive(Debug)]
struct AndOr {
    first: Pipeline,
    rest: Vec<(bool, Pipeline)>, // (true: `&&`, false: `||`)
}

struct SyntaxError {
    line: usize,
    message: String,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    depth: usize,
}

/// Characters that end an unquoted word.
fn is_meta(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')')
}

impl Parser {
    fn new(text: &str, depth: usize) -> Parser {
        Parser { chars: text.chars().collect(), pos: 0, line: 1, depth }
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, SyntaxError> {
        Err(SyntaxError { line: self.line, message: message.into() })
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.chars.get(self.pos + 1).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    /// Skips blanks, line continuations and a comment (up to, not over, its newline).
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(' ' | '\t') => self.pos += 1,
                Some('\\') if self.peek2() == Some('\n') => {
                    self.bump();
                    self.bump();
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn skip_blanks_and_newlines(&mut self) {
        loop {
            self.skip_blanks();
            if self.peek() == Some('\n') {
                self.bump();
            } else {
                return;
            }
        }
    }

    /// The operator at the cursor, if any (not consumed).
    fn operator(&self) -> Option<&'static str> {
        Some(match (self.peek()?, self.peek2()) {
            ('&', Some('&')) => "&&",
            ('|', Some('|')) => "||",
            (';', Some(';')) => ";;",
            ('&', _) => "&",
            ('|', _) => "|",
            (';', _) => ";",
            ('\n', _) => "\n",
            ('(', _) => "(",
            (')', _) => ")",
            _ => return None,
        })
    }

    fn unexpected<T>(&self) -> Result<T, SyntaxError> {
        match self.operator() {
            None => self.error("Syntax error: end of file unexpected"),
            Some("\n") => self.error("Syntax error: newline unexpected"),
            Some(op) => self.error(format!("Syntax error: \"{op}\" unexpected")),
        }
    }

    /// The next line of the script (a list up to a newline), `None` at the end.
    fn complete_command(&mut self) -> Result<Option<Vec<AndOr>>, SyntaxError> {
        self.skip_blanks_and_newlines();
        if self.peek().is_none() {
            return Ok(None);
        }
        self.list(false).map(Some)
    }

    /// And-or lists separated by `;`, `&` (and newlines when `inner`: the
    /// body of `$(..)`, which ends before its `)`); otherwise up to a newline.
    fn list(&mut self, inner: bool) -> Result<Vec<AndOr>, SyntaxError> {
        let mut items = Vec::new();
        loop {
            if inner {
                self.skip_blanks_and_newlines();
                if matches!(self.peek(), None | Some(')')) {
                    return Ok(items);
                }
            }
            items.push(self.and_or()?);
            self.skip_blanks();
            match self.operator() {
                Some(";" | "&") => {
                    self.bump();
                    self.skip_blanks();
                    match self.operator() {
                        None if self.peek().is_none() => return Ok(items),
                        Some("\n") if !inner => {
                            self.bump();
                            return Ok(items);
                        }
                        _ => {}
                    }
                    if inner && self.operator() == Some(")") {
                        return Ok(items);
                    }
                }
                Some("\n") => {
                    self.bump();
                    if !inner {
                        return Ok(items);
                    }
                }
                None if self.peek().is_none() => return Ok(items),
                Some(")") if inner => return Ok(items),
                _ => return self.unexpected(),
            }
        }
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.pipeline()?;
        let mut rest = Vec::new();
        loop {
            self.skip_blanks();
            let and = match self.operator() {
                Some("&&") => true,
                Some("||") => false,
                _ => return Ok(AndOr { first, rest }),
            };
            self.bump();
            self.bump();
            self.skip_blanks_and_newlines();
            rest.push((and, self.pipeline()?));
        }
    }

    fn pipeline(&mut self) -> Result<Pipeline, SyntaxError> {
        let mut commands = vec![self.simple()?];
        loop {
            self.skip_blanks();
            if self.operator() != Some("|") {
                return Ok(Pipeline(commands));
            }
            self.bump();
            self.skip_blanks_and_newlines();
            commands.push(self.simple()?);
        }
    }

    /// A simple command: words and redirections; an empty one is an error.
    fn simple(&mut self) -> Result<Simple, SyntaxError> {
        let mut command = Simple { words: Vec::new(), redirects: Vec::new(), line: self.line };
        loop {
            self.skip_blanks();
            match self.peek() {
                Some('<' | '>') => {
                    let redirect = self.redirect(None)?;
                    command.redirects.push(redirect);
                }
                Some(c) if !is_meta(c) => {
                    let start = self.pos;
                    let word = self.word()?;
                    // A lone unquoted digit right before `<` or `>` names a descriptor.
                    let digit = (self.pos == start + 1).then(|| self.chars[start].to_digit(10)).flatten();
                    match (digit, self.peek()) {
                        (Some(fd), Some('<' | '>')) => {
                            let redirect = self.redirect(Some(fd))?;
                            command.redirects.push(redirect);
                        }
                        _ => command.words.push(word),
                    }
                }
                _ => break,
            }
        }
        if command.words.is_empty() && command.redirects.is_empty() {
            return self.unexpected();
        }
        Ok(command)
    }

    /// A redirection at `<` or `>`, of descriptor `fd` (by default 0 to read, 1 to write).
    fn redirect(&mut self, fd: Option<u32>) -> Result<Redirect, SyntaxError> {
        let read = self.bump() == Some('<');
        let fd = fd.unwrap_or(if read { 0 } else { 1 });
        let op = match self.peek() {
            Some('&') => {
                self.bump();
                RedirectOp::Dup
            }
            Some('>') if !read => {
                self.bump();
                RedirectOp::Write
            }
            _ if read => RedirectOp::Read,
            _ => RedirectOp::Write,
        };
        self.skip_blanks();
        match self.peek() {
            Some(c) if !is_meta(c) => Ok(Redirect { fd, op, target: self.word()? }),
            _ => self.unexpected(),
        }
    }

    /// One word, up to an unquoted blank or operator.
    fn word(&mut self) -> Result<Word, SyntaxError> {
        let mut word = Word::default();
        let mut literal = String::new();
        while let Some(c) = self.peek() {
            if is_meta(c) {
                break;
            }
            self.bump();
            match c {
                '\\' => match self.bump() {
                    Some('\n') => {}
                    Some(escaped) => {
                        flush(&mut word, &mut literal, false);
                        word.parts.push((Part::Literal(escaped.to_string()), true));
                    }
                    None => literal.push('\\'),
                },
                '\'' => {
                    flush(&mut word, &mut literal, false);
                    let mut quoted = String::new();
                    loop {
                        match self.bump() {
                            Some('\'') => break,
                            Some(c) => quoted.push(c),
                            None => return self.error("Syntax error: Unterminated quoted string"),
                        }
                    }
                    word.parts.push((Part::Literal(quoted), true));
                }
                '"' => {
                    flush(&mut word, &mut literal, false);
                    self.double_quoted(&mut word)?;
                }
                '$' => {
                    flush(&mut word, &mut literal, false);
                    if let Some(part) = self.dollar()? {
                        word.parts.push((part, false));
                    } else {
                        literal.push('$');
                    }
                }
                '`' => {
                    flush(&mut word, &mut literal, false);
                    let part = self.backquoted(false)?;
                    word.parts.push((part, false));
                }
                c => literal.push(c),
            }
        }
        flush(&mut word, &mut literal, false);
        Ok(word)
    }

    /// The rest of a `"..."` (the opening quote consumed), its parts quoted.
    fn double_quoted(&mut self, word: &mut Word) -> Result<(), SyntaxError> {
        let mut literal = String::new();
        // An empty `""` is still a word.
        word.parts.push((Part::Literal(String::new()), true));
        loop {
            match self.bump() {
                None => return self.error("Syntax error: Unterminated quoted string"),
                Some('"') => break,
                Some('\\') => match self.peek() {
                    Some('\n') => {
                        self.bump();
                    }
                    Some(c @ ('$' | '`' | '"' | '\\')) => {
                        self.bump();
                        literal.push(c);
                    }
                    _ => literal.push('\\'),
                },
                Some('$') => {
                    flush(word, &mut literal, true);
                    match self.dollar()? {
                        Some(part) => word.parts.push((part, true)),
                        None => literal.push('$'),
                    }
                }
                Some('`') => {
                    flush(word, &mut literal, true);
                    let part = self.backquoted(true)?;
                    word.parts.push((part, true));
                }
                Some(c) => literal.push(c),
            }
        }
        flush(word, &mut literal, true);
        Ok(())
    }

    fn nested(&self) -> Result<usize, SyntaxError> {
        if self.depth >= MAX_DEPTH {
            return self.error("substitutions nested too deep");
        }
        Ok(self.depth + 1)
    }

    /// What follows a `$` (consumed): `None` when it is a plain dollar sign.
    fn dollar(&mut self) -> Result<Option<Part>, SyntaxError> {
        match (self.peek(), self.peek2()) {
            (Some('('), Some('(')) => {
                self.bump();
                self.bump();
                let mut expression = String::new();
                let mut open = 0usize;
                loop {
                    match self.bump() {
                        None => return self.error("Syntax error: Missing '))'"),
                        Some('(') => {
                            open += 1;
                            expression.push('(');
                        }
                        Some(')') if open == 0 => {
                            if self.bump() != Some(')') {
                                return self.error("Syntax error: Missing '))'");
                            }
                            return Ok(Some(Part::Arith(expression)));
                        }
                        Some(')') => {
                            open -= 1;
                            expression.push(')');
                        }
                        Some(c) => expression.push(c),
                    }
                }
            }
            (Some('('), _) => {
                self.bump();
                let saved = self.depth;
                self.depth = self.nested()?;
                let body = self.list(true);
                self.depth = saved;
                let body = body?;
                if self.bump() != Some(')') {
                    return self.error("Syntax error: end of file unexpected (expecting \")\")");
                }
                Ok(Some(Part::Command(body)))
            }
            (Some('{'), _) => {
                self.bump();
                let mut name = String::new();
                loop {
                    match self.bump() {
                        None => return self.error("Syntax error: Missing '}'"),
                        Some('}') => break,
                        Some(c) => name.push(c),
                    }
                }
                if is_name(&name) || name == "?" || (name.len() == 1 && name.chars().all(|c| c.is_ascii_digit())) {
                    Ok(Some(Part::Param(name)))
                } else {
                    self.error("Bad substitution")
                }
            }
            (Some('?'), _) => {
                self.bump();
                Ok(Some(Part::Param("?".to_owned())))
            }
            (Some(c), _) if c.is_ascii_digit() => {
                self.bump();
                Ok(Some(Part::Param(c.to_string())))
            }
            (Some(c), _) if c.is_ascii_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    self.bump();
                    name.push(c);
                }
                Ok(Some(Part::Param(name)))
            }
            _ => Ok(None),
        }
    }

    /// The rest of a `` `...` `` (the opening backtick consumed), parsed as a script.
    fn backquoted(&mut self, in_double_quotes: bool) -> Result<Part, SyntaxError> {
        let mut source = String::new();
        loop {
            match self.bump() {
                None => return self.error("Syntax error: EOF in backquote substitution"),
                Some('`') => break,
                Some('\\') => match self.peek() {
                    Some(c @ ('`' | '$' | '\\')) => {
                        self.bump();
                        source.push(c);
                    }
                    Some('"') if in_double_quotes => {
                        self.bump();
                        source.push('"');
                    }
                    _ => source.push('\\'),
                },
                Some(c) => source.push(c),
            }
        }
        let mut inner = Parser::new(&source, self.nested()?);
        inner.line = self.line;
        let body = inner.list(true)?;
        if inner.peek().is_some() {
            return inner.unexpected();
        }
        Ok(Part::Command(body))
    }
}

/// Moves pending literal text into the word.
fn flush(word: &mut Word, literal: &mut String, quoted: bool) {
    if !literal.is_empty() {
        word.parts.push((Part::Literal(std::mem::take(literal)), quoted));
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ---- evaluation ----

/// An error that ends the script (as expansion errors end a non-interactive sh).
struct Fatal {
    line: usize,
    message: String,
}

/// Where a command's standard output goes.
enum Sink {
    /// The script's output (merged with errors).
    Top,
    /// Captured by a command substitution.
    Buffer(String),
    /// Discarded (`>/dev/null`, or the input of the next command in a pipeline).
    Null,
}

struct Shell {
    merged: String,
    status: i32,
    steps: usize,
}

impl Shell {
    fn push(merged: &mut String, text: &str) {
        let room = MAX_OUTPUT.saturating_sub(merged.len());
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        merged.push_str(&text[..end]);
    }

    fn write_err(&mut self, text: &str) {
        Shell::push(&mut self.merged, text);
    }

    fn write_out(&mut self, sink: &mut Sink, text: &str) {
        match sink {
            Sink::Top => Shell::push(&mut self.merged, text),
            Sink::Buffer(buffer) => Shell::push(buffer, text),
            Sink::Null => {}
        }
    }

    fn step(&mut self, line: usize) -> Result<(), Fatal> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Fatal { line, message: format!("more than {MAX_STEPS} steps: stopped") });
        }
        Ok(())
    }

    fn run_list(&mut self, list: &[AndOr], sink: &mut Sink) -> Result<(), Fatal> {
        for item in list {
            let mut status = self.run_pipeline(&item.first, sink)?;
            for (and, pipeline) in &item.rest {
                if (status == 0) == *and {
                    status = self.run_pipeline(pipeline, sink)?;
                }
            }
            self.status = status;
        }
        Ok(())
    }

    fn run_pipeline(&mut self, pipeline: &Pipeline, sink: &mut Sink) -> Result<i32, Fatal> {
        let mut status = 0;
        let last = pipeline.0.len() - 1;
        for (i, command) in pipeline.0.iter().enumerate() {
            // None of the commands reads its input: only the last one's output remains.
            status =
                if i == last { self.run_simple(command, sink)? } else { self.run_simple(command, &mut Sink::Null)? };
            self.status = status;
        }
        Ok(status)
    }

    fn run_simple(&mut self, command: &Simple, sink: &mut Sink) -> Result<i32, Fatal> {
        self.step(command.line)?;
        let mut argv = Vec::new();
        for word in &command.words {
            argv.extend(self.expand(word, command.line)?);
        }
        let (mut out_null, mut err_null) = (false, false);
        for redirect in &command.redirects {
            let target = self.expand(&redirect.target, command.line)?;
            let [target] = target.as_slice() else {
                self.write_err(&format!("sh: {}: ambiguous redirect\n", command.line));
                return Ok(2);
            };
            match redirect.op {
                RedirectOp::Dup => {}
                _ if target == "/dev/null" => match redirect.fd {
                    1 => out_null = true,
                    2 => err_null = true,
                    _ => {}
                },
                RedirectOp::Read => {
                    self.write_err(&format!("sh: {}: cannot open {target}: No such file\n", command.line));
                    return Ok(2);
                }
                RedirectOp::Write => {
                    self.write_err(&format!("sh: {}: cannot create {target}: Read-only file system\n", command.line));
                    return Ok(2);
                }
            }
        }
        let Some(name) = argv.first() else { return Ok(0) };
        let args = &argv[1..];
        let (out, err, status) = match name.as_str() {
            "echo" => (echo(args), String::new(), 0),
            "true" | ":" => (String::new(), String::new(), 0),
            "false" => (String::new(), String::new(), 1),
            "lookup-host" => {
                let (text, status) = lookup_host(args);
                if status == 0 || !args.is_empty() {
                    (text, String::new(), status)
                } else {
                    (String::new(), text, status)
                }
            }
            other => (String::new(), format!("sh: {}: {other}: not found\n", command.line), 127),
        };
        if !err_null {
            self.write_err(&err);
        }
        if !out_null {
            self.write_out(sink, &out);
        }
        Ok(status)
    }

    /// A word's fields: expansions, then splitting of the unquoted results on blanks.
    fn expand(&mut self, word: &Word, line: usize) -> Result<Vec<String>, Fatal> {
        let mut fields = Vec::new();
        let mut current = String::new();
        let mut started = false;
        for (part, quoted) in &word.parts {
            let text = match part {
                Part::Literal(text) => {
                    current.push_str(text);
                    started |= *quoted || !text.is_empty();
                    continue;
                }
                Part::Param(name) => match name.as_str() {
                    "?" => self.status.to_string(),
                    _ => String::new(),
                },
                Part::Command(body) => {
                    self.step(line)?;
                    let mut captured = Sink::Buffer(String::new());
                    self.run_list(body, &mut captured)?;
                    let mut text = match captured {
                        Sink::Buffer(text) => text,
                        Sink::Top | Sink::Null => String::new(),
                    };
                    text.truncate(text.trim_end_matches('\n').len());
                    text
                }
                Part::Arith(expression) => {
                    self.step(line)?;
                    match arithmetic(expression) {
                        Ok(value) => value.to_string(),
                        Err(message) => {
                            return Err(Fatal { line, message: format!("arithmetic expression: {message}") });
                        }
                    }
                }
            };
            if *quoted {
                current.push_str(&text);
                started = true;
                continue;
            }
            for c in text.chars() {
                if matches!(c, ' ' | '\t' | '\n') {
                    if started {
                        fields.push(std::mem::take(&mut current));
                        started = false;
                    }
                } else {
                    current.push(c);
                    started = true;
                }
            }
        }
        if started {
            fields.push(current);
        }
        Ok(fields)
    }
}

/// dash's `echo`: the arguments joined by spaces and a newline (not after
/// `-n`), with the escapes `\a \b \c \f \n \r \t \v \\ \0NNN` (`\c` ends the output).
fn echo(args: &[String]) -> String {
    let (newline, args) = match args.first() {
        Some(flag) if flag == "-n" => (false, &args[1..]),
        _ => (true, args),
    };
    let joined = args.join(" ");
    let mut text = String::new();
    let mut chars = joined.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some('a') => text.push('\u{7}'),
            Some('b') => text.push('\u{8}'),
            Some('c') => return text,
            Some('f') => text.push('\u{c}'),
            Some('n') => text.push('\n'),
            Some('r') => text.push('\r'),
            Some('t') => text.push('\t'),
            Some('v') => text.push('\u{b}'),
            Some('\\') => text.push('\\'),
            Some('0') => {
                let mut code = 0u32;
                for _ in 0..3 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(digit) => {
                            code = code * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                text.push(char::from_u32(code).unwrap_or('\0'));
            }
            Some(other) => {
                text.push('\\');
                text.push(other);
            }
            None => text.push('\\'),
        }
    }
    if newline {
        text.push('\n');
    }
    text
}

/// Evaluates `$((..))`'s expression: integers, `+ - * / %`, unary signs,
/// parentheses; a name is an unset variable, 0.
fn arithmetic(expression: &str) -> Result<i64, String> {
    let tokens = tokens(expression)?;
    let mut at = 0;
    let value = sum(&tokens, &mut at, expression)?;
    if at != tokens.len() {
        return Err(format!("expecting EOF: \"{expression}\""));
    }
    Ok(value)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(i64),
    Op(char),
}

fn tokens(expression: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let mut value: i64 = 0;
            while i < chars.len() && chars[i].is_ascii_digit() {
                value = value.wrapping_mul(10).wrapping_add(chars[i].to_digit(10).map_or(0, i64::from));
                i += 1;
            }
            out.push(Token::Number(value));
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Number(0));
        } else if "+-*/%()".contains(c) {
            out.push(Token::Op(c));
            i += 1;
        } else {
            return Err(format!("expecting primary: \"{expression}\""));
        }
    }
    Ok(out)
}

fn sum(tokens: &[Token], at: &mut usize, expression: &str) -> Result<i64, String> {
    let mut value = product(tokens, at, expression)?;
    while let Some(Token::Op(op @ ('+' | '-'))) = tokens.get(*at) {
        *at += 1;
        let right = product(tokens, at, expression)?;
        value = if *op == '+' { value.wrapping_add(right) } else { value.wrapping_sub(right) };
    }
    Ok(value)
}

fn product(tokens: &[Token], at: &mut usize, expression: &str) -> Result<i64, String> {
    let mut value = unary(tokens, at, expression)?;
    while let Some(Token::Op(op @ ('*' | '/' | '%'))) = tokens.get(*at) {
        *at += 1;
        let right = unary(tokens, at, expression)?;
        value = match op {
            '*' => value.wrapping_mul(right),
            _ if right == 0 => return Err(format!("division by zero: \"{expression}\"")),
            '/' => value.wrapping_div(right),
            _ => value.wrapping_rem(right),
        };
    }
    Ok(value)
}

fn unary(tokens: &[Token], at: &mut usize, expression: &str) -> Result<i64, String> {
    match tokens.get(*at) {
        Some(Token::Op('-')) => {
            *at += 1;
            Ok(unary(tokens, at, expression)?.wrapping_neg())
        }
        Some(Token::Op('+')) => {
            *at += 1;
            unary(tokens, at, expression)
        }
        Some(Token::Op('(')) => {
            *at += 1;
            let value = sum(tokens, at, expression)?;
            if tokens.get(*at) != Some(&Token::Op(')')) {
                return Err(format!("expecting ')': \"{expression}\""));
            }
            *at += 1;
            Ok(value)
        }
        Some(Token::Number(value)) => {
            *at += 1;
            Ok(*value)
        }
        _ => Err(format!("expecting primary: \"{expression}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(script: &str) -> String {
        run(script).0
    }

    #[test]
    fn echo_joins_its_arguments_and_reads_escapes_like_dash() {
        assert_eq!(out("echo a 'b  c'"), "a b  c\n");
        assert_eq!(out("echo -n a"), "a");
        assert_eq!(out("echo 'a\\tb\\0101\\\\q\\cignored'"), "a\tbA\\q");
    }

    #[test]
    fn lookup_host_answers_known_and_unknown_names() {
        assert_eq!(run("lookup-host db.internal"), ("db.internal has address 10.0.0.12\n".to_owned(), 0));
        assert_eq!(
            run("lookup-host nowhere.internal"),
            ("Host nowhere.internal not found: 3(NXDOMAIN)\n".to_owned(), 1)
        );
        assert_eq!(run("lookup-host").1, 1);
    }

    #[test]
    fn separators_run_commands_in_turn() {
        assert_eq!(
            out("lookup-host db.internal;echo mrtr$((4127*7))z"),
            "db.internal has address 10.0.0.12\nmrtr28889z\n"
        );
        assert_eq!(out("echo a\necho b"), "a\nb\n");
        assert_eq!(out("echo a & echo b"), "a\nb\n");
        assert_eq!(out("echo a;"), "a\n");
        // A pipe keeps the last command's output, and the others' errors.
        assert_eq!(out("lookup-host db.internal|echo mrtr$((4158*7))z"), "mrtr29106z\n");
        assert_eq!(out("nosuch | echo x"), "sh: 1: nosuch: not found\nx\n");
    }

    #[test]
    fn and_and_or_follow_exit_statuses() {
        assert_eq!(out("true && echo yes || echo no"), "yes\n");
        assert_eq!(out("false && echo yes || echo no"), "no\n");
        assert_eq!(out("lookup-host nowhere >/dev/null || echo missing"), "missing\n");
        assert_eq!(out("false; echo $?"), "1\n");
        assert_eq!(run("false").1, 1);
        assert_eq!(out("nosuch; echo $?"), "sh: 1: nosuch: not found\n127\n");
    }

    #[test]
    fn substitutions_and_arithmetic_expand_in_words() {
        assert_eq!(
            out("lookup-host db.internal$(echo mrtr$((4220*7))z)"),
            "Host db.internalmrtr29540z not found: 3(NXDOMAIN)\n"
        );
        assert_eq!(
            out("lookup-host db.internal`echo mrtr$((4251*7))z`"),
            "Host db.internalmrtr29757z not found: 3(NXDOMAIN)\n"
        );
        assert_eq!(out("echo $((2+3*4)) $((10-4-3)) $(( (1+2)*-3 )) $((7/2)) $((7%3))"), "14 3 -9 3 1\n");
        assert_eq!(out("echo $(echo $(echo deep))"), "deep\n");
        assert_eq!(out("echo \"$(echo a; echo b)\""), "a\nb\n");
        assert_eq!(out("echo $(echo a; echo b)"), "a b\n", "unquoted results are split");
        assert_eq!(out("echo x$HOME${PATH}y"), "xy\n", "the environment is empty");
        assert_eq!(out("echo $((1/0))"), "sh: 1: arithmetic expression: division by zero: \"1/0\"\n");
    }

    #[test]
    fn quotes_keep_or_expand_their_text() {
        assert_eq!(out("echo 'a;b $((1+1))' \"c;d $((1+1))\" e\\;f"), "a;b $((1+1)) c;d 2 e;f\n");
        assert_eq!(out("echo a    b"), "a b\n");
        assert_eq!(out("echo \"a    b\""), "a    b\n");
        assert_eq!(out("echo '' x"), " x\n");
        // The closed-quote forms of the probe, on an unquoted command line.
        assert_eq!(
            out("lookup-host db.internal';echo mrtr$((4313*7))z;'"),
            "Host db.internal;echo mrtr$((4313*7))z; not found: 3(NXDOMAIN)\n"
        );
        assert_eq!(
            out("lookup-host db.internal\";echo mrtr$((4344*7))z;\""),
            "Host db.internal;echo mrtr30408z; not found: 3(NXDOMAIN)\n"
        );
        assert_eq!(out("echo a # b"), "a\n");
        assert_eq!(out("echo a#b"), "a#b\n");
    }

    #[test]
    fn other_commands_and_syntax_errors_are_reported_like_dash() {
        assert_eq!(run("rm -rf /"), ("sh: 1: rm: not found\n".to_owned(), 127));
        assert_eq!(out("echo a\ncurl x"), "a\nsh: 2: curl: not found\n");
        assert_eq!(run("echo 'a"), ("sh: 1: Syntax error: Unterminated quoted string\n".to_owned(), 2));
        assert_eq!(out("echo a;;echo b"), "sh: 1: Syntax error: \";;\" unexpected\n");
        assert_eq!(out(";echo b"), "sh: 1: Syntax error: \";\" unexpected\n");
        assert_eq!(out("echo a |"), "sh: 1: Syntax error: end of file unexpected\n");
        assert_eq!(out("echo x@(4127*7)z"), "sh: 1: Syntax error: \"(\" unexpected\n");
        assert_eq!(out("echo ${4127*7}"), "sh: 1: Bad substitution\n");
        assert_eq!(out("echo $(echo a"), "sh: 1: Syntax error: end of file unexpected (expecting \")\")\n");
        assert_eq!(out("echo `echo a"), "sh: 1: Syntax error: EOF in backquote substitution\n");
        // The lines before a syntax error have run.
        assert_eq!(out("echo a\necho 'b"), "a\nsh: 2: Syntax error: Unterminated quoted string\n");
    }

    #[test]
    fn redirections_never_reach_the_file_system() {
        assert_eq!(out("echo a >/tmp/x"), "sh: 1: cannot create /tmp/x: Read-only file system\n");
        assert_eq!(out("echo a < /etc/passwd"), "sh: 1: cannot open /etc/passwd: No such file\n");
        assert_eq!(out("echo a >/dev/null; echo b"), "b\n");
        assert_eq!(out("nosuch 2>/dev/null; echo b 2>&1"), "b\n");
        assert_eq!(out("echo mrtr<%= 4127*7 %>z"), "sh: 1: cannot open %=: No such file\n");
        assert_eq!(out("echo 1>/dev/null"), "", "a lone digit before `>` is a descriptor");
        assert_eq!(out("echo 12>/dev/null"), "", "12 is a word: its output goes to /dev/null");
    }

    #[test]
    fn input_steps_nesting_and_output_are_bounded() {
        let long = format!("echo {}", "a".repeat(MAX_SCRIPT));
        assert_eq!(run(&long).1, 2);
        let many = ":;".repeat(MAX_STEPS + 1);
        let (text, status) = run(&many);
        assert_eq!(status, 2);
        assert!(text.contains("steps: stopped"), "{text}");
        let deep = format!("echo {}x{}", "$(echo ".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        let (text, status) = run(&deep);
        assert_eq!(status, 2);
        assert!(text.contains("nested too deep"), "{text}");
        let mut merged = String::new();
        Shell::push(&mut merged, &"é".repeat(MAX_OUTPUT));
        assert!(merged.len() <= MAX_OUTPUT);
    }
}

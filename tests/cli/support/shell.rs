//! Command lines as a shell splits them, for checking the commands that docs and help show.

/// The `slascone-sync ...` commands of a script, as words (quotes removed), up to a redirection.
pub fn commands(script: &str) -> Vec<Vec<String>> {
    commands_of(script, "slascone-sync")
}

/// The commands of `program` in a script, as words (quotes removed), up to a redirection or a
/// comment.
pub fn commands_of(script: &str, program: &str) -> Vec<Vec<String>> {
    let joined = script.replace("\\\n", " ");
    let mut found = Vec::new();
    for line in joined.lines() {
        for part in unquoted_split(line) {
            let words = shell_words(part);
            if words.first().map(String::as_str) == Some(program) {
                let words = words
                    .into_iter()
                    .take_while(|w| {
                        !w.starts_with('>')
                            && !w.starts_with("2>")
                            && w != "<"
                            && !w.starts_with('#')
                    })
                    .collect();
                found.push(words);
            }
        }
    }
    found
}

fn shell_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// The parts of a line between `|`, `;` and `&` that stand outside quotes.
fn unquoted_split(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quote = None;
    for (at, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '|' | ';' | '&') => {
                parts.push(&line[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&line[start..]);
    parts
}

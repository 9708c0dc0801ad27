//! The instructions of `compose/Dockerfile`, stage by stage.

use super::compose_dir;

/// One build stage: its `FROM` line and the instructions after it.
#[derive(Debug)]
pub struct Stage {
    pub from: String,
    pub instructions: Vec<Instruction>,
}

/// An instruction with its continuation lines joined, e.g. `("RUN", "cargo build ...")`.
#[derive(Debug)]
pub struct Instruction {
    pub keyword: String,
    pub arguments: String,
}

impl Stage {
    /// The arguments of every `keyword` instruction in this stage.
    pub fn all(&self, keyword: &str) -> Vec<&str> {
        self.instructions
            .iter()
            .filter(|i| i.keyword == keyword)
            .map(|i| i.arguments.as_str())
            .collect()
    }
}

/// Reads `compose/Dockerfile` into its stages.
pub fn stages() -> Vec<Stage> {
    let path = compose_dir().join("Dockerfile");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical_lines(&text) {
        let (keyword, arguments) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let arguments = arguments.trim().to_owned();
        if keyword == "FROM" {
            stages.push(Stage {
                from: arguments,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(Instruction { keyword, arguments });
        }
    }
    assert!(!stages.is_empty(), "{} has no FROM", path.display());
    stages
}

/// Lines without comments, with `\` continuations joined.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

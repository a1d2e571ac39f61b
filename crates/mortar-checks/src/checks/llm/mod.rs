//! `llm.*`: one module per check.

pub mod prompt_injection;
pub mod system_prompt_leak;

//! `llm.*`: one module per check, named after its id.

pub mod prompt_injection;
pub mod system_prompt_leak;

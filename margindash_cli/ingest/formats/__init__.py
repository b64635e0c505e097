"""One module per log shape; each turns a parsed line into canonical field dicts.

base.py   - the interface every format implements, and the canonical field names.
fields.py - strict readers for the usage numbers a line carries.
anthropic, bedrock, claude_code, gemini, langfuse, litellm, openai, openai_batch - the formats.
"""

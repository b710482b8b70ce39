"""Discord glue: one extension per capability; modules starting with "_" are helpers, not extensions."""

"""The history of traces: what each revision changed, who, when and why (read only)."""

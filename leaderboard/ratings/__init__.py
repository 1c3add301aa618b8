"""Rating math: plain numpy (scipy only where a rarer path needs it, imported then), no Django imports."""

"""Model submissions: an author's model checked, approved, evaluated and enabled into the arena."""

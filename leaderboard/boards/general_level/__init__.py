"""The General-Level board: tasks and scores imported or evaluated, scored as a whole, cached per version."""

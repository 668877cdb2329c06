"""Parameter groups: the parameter table, the declarative policy, and its resolution."""

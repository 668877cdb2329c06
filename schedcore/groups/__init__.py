"""Parameter groups: the parameter table (and the model walk that fills it), the declarative
policy, and its resolution."""

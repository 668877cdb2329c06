"""Schedule math: the node base and registry, the ops protocol, the families, the
combinators, each node's breakpoints, and the stepper."""

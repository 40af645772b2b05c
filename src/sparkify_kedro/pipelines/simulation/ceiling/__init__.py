"""The ceiling: the simulator's own churn probability of each labelled row (futures drawn
from a replayed stream) and every model's expected AUC-PR against it. Uses the generator,
which knows nothing of it."""

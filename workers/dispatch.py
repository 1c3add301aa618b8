"""Queue routing: each model has its own queue, `model.<slug>`; workers listen to the models they host.

Battles go first on a shared worker through message priorities on that one queue, not through a queue
of their own: kombu's Redis transport keeps a queue's messages of each priority step in a list of its
own (`model.<slug>\\x06\\x169` for EVALUATION_PRIORITY) and a worker's BRPOP names the lists of every
queue it consumes at step 0 before any list at a later step, whatever its `queue_order_strategy`.
So a worker that frees a thread takes any waiting answer (sent without a priority: step 0) before any
evaluation chunk, and a battle waits at most for the chunks its threads are asking already (prefetch
multiplier 1 and late acks: a busy worker holds no queued message). One queue keeps what a model
queue means: every worker hosting the model takes its chunks, presence and readiness need no second
name, and a model registered later brings one queue to add.
"""

from __future__ import annotations

from typing import Final

DEFAULT_QUEUE = "default"
# Redis reverses AMQP's order, 0 is asked first; 9 is kombu's last default priority step.
EVALUATION_PRIORITY: Final = 9


def model_queue(*, slug: str) -> str:
    return f"model.{slug}"

from tests.portal.playground.stack import playground_stack

__all__ = ["playground_stack"]

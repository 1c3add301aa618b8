"""The boards people see, one package each.

The pure engines they use live beside them: `leaderboard.ratings` and `leaderboard.general_level`.
"""

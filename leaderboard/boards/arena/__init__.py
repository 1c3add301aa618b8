"""The arena board: Bradley-Terry snapshots of the counted votes, the live online Elo, charts, exports."""

"""Rating math: plain numpy/scipy, no Django imports."""

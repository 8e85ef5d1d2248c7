"""Test support shared by every tier: builders, given/when/then for the aggregates,
simulated time, and stores opened for one test."""

"""Test support shared by every tier: simulated time, and stores opened for one test."""

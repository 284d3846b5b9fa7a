"""Simulated MessageBird Voice API traffic (calls and legs) with its expected marts."""

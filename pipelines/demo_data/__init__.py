"""The demo data generator: seeded synthetic request logs with their ground truth."""

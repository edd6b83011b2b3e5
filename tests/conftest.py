"""Test-wide settings. The machines running these tests have 2 noisy cores, so hypothesis
must not fail an example for being slow (per-example deadlines, the too_slow health check);
each test still sets its own example budget."""

from hypothesis import HealthCheck, settings

settings.register_profile("fa2opt", deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fa2opt")

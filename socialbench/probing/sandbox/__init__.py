"""The sandbox: a simulated social platform (the X API v2 subset of docs/x_api_subset.md)
whose brands answer probes with seeded, profile-driven behaviour and write a ground truth.

    world = World(profile=load_profile("profile.yaml"), seed=7,
                  clock=PlatformClock(start="2026-01-05T09:00:00Z", speed=1000))
    app = create_app(world)                 # in-process, e.g. httpx.ASGITransport(app)
    handle = serve_in_thread(world)         # over loopback: handle.url, handle.stop()
"""

from socialbench.probing.sandbox.app import create_app
from socialbench.probing.sandbox.clock import PlatformClock
from socialbench.probing.sandbox.profile import EXAMPLE_PROFILE, Behaviour, Profile, load_profile
from socialbench.probing.sandbox.server import ServerHandle, run_server, serve, serve_in_thread
from socialbench.probing.sandbox.world import World

__all__ = [
    "EXAMPLE_PROFILE",
    "Behaviour",
    "PlatformClock",
    "Profile",
    "ServerHandle",
    "World",
    "create_app",
    "load_profile",
    "run_server",
    "serve",
    "serve_in_thread",
]

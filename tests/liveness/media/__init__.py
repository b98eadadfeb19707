"""Test media for liveness: real photos turned into live-like sequences and into presentation attacks.

``warp`` moves a picture along landmark sets (piecewise affine), ``attacks``
makes the replays a liveness check must refuse (a photo slid, zoomed, bent,
shown on a screen), ``expressions`` moves the face mesh for blinks, an open
mouth and a smile, ``sequences`` puts them together into what a session sees
and writes the frames as real video files, ``camera`` films any of them
through a camera model (rolling shutter, defocus, resampling, Bayer mosaic
and noise, tone, JPEG), ``sets`` builds the evaluation sets. Every generator
is deterministic: noise and glare come from a seed.
"""

"""Naming a rig for a profile: the device string picks the transport (serial port, pyserial
URL, ``mock://`` simulation) and the profile gives a serial port its settings.

This joins devices and protocols, which do not import each other (docs/architecture.md §1):
transports take plain port settings and never see a profile.
"""

from __future__ import annotations

import dataclasses

from labbench.devices.transport import Rig, rig_for
from labbench.protocols.profile import Profile


def make_rig(device: str, profile: Profile | None = None) -> Rig:
    """The rig a device string names, its serial port set up as ``profile`` says (the default
    profile's 115200 8N1 without one); raises DeviceError for a string that names nothing."""
    return rig_for(device, **dataclasses.asdict((profile or Profile()).serial))

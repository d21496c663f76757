"""make_rig joins a device string and a profile: the profile's serial settings reach the port
that is opened, a mock:// device gets a simulated rig, and an empty device is refused."""

from __future__ import annotations

import pytest

from labbench.acquisition.rigs import make_rig
from labbench.devices.transport import DeviceError, MockRig
from labbench.protocols.profile import parse_profile

PROFILE = """
[profile]
name = "slow-even"

[serial]
baudrate = 9600
bytesize = 7
parity = "E"
stopbits = 2
xonxoff = true
"""


def test_the_profile_sets_the_port_it_opens():
    transport = make_rig("loop://", parse_profile(PROFILE)).open()
    try:
        port = transport._port
        assert (port.baudrate, port.bytesize, port.parity, port.stopbits) == (9600, 7, "E", 2)
        assert (port.rtscts, port.xonxoff) == (False, True)
    finally:
        transport.close()


def test_without_a_profile_the_port_is_115200_8n1():
    transport = make_rig("loop://").open()
    try:
        port = transport._port
        assert (port.baudrate, port.bytesize, port.parity, port.stopbits) == (115200, 8, "N", 1)
        assert (port.rtscts, port.xonxoff) == (False, False)
    finally:
        transport.close()


def test_a_mock_device_is_a_simulated_rig():
    assert isinstance(make_rig("mock://nominal", parse_profile(PROFILE)), MockRig)


def test_an_empty_device_is_refused_in_one_sentence():
    with pytest.raises(DeviceError, match="No device given"):
        make_rig("  ")

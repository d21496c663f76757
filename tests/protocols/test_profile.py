"""Profiles refuse every mistake with one sentence naming the file, the line and the key."""

from __future__ import annotations

import pytest

from labbench.protocols.profile import ProfileError, available_profiles, load_profile, parse_profile


@pytest.mark.parametrize(
    "text, message",
    [
        ('[line]\nfromat = "kv"\n', "p.toml, line 2: [line] fromat: unknown key"),
        (
            '[line]\nformat = "kv"\nframe_feilds = ["a"]\n',
            "p.toml, line 3: [line] frame_feilds: unknown key",
        ),
        ("[serial]\nbaud = 9600\n", "p.toml, line 2: [serial] baud: unknown key"),
        (
            '[[channel]]\nmatch = "a"\nunits = "V"\n',
            "p.toml, line 3: [[channel]] #1 units: unknown key",
        ),
        (
            '[[channel]]\nmatch = "a"\n[[channel]]\nmatch = "b"\nsclae = 2\n',
            "p.toml, line 5: [[channel]] #2 sclae: unknown key",
        ),
        ('[result]\npatern = "x"\n', "p.toml, line 2: [result] patern: unknown key"),
        (
            "[serial]\nbaudrate = " + "9" * 400 + "\n",
            "p.toml, line 2: [serial] baudrate must be between 50 and 20000000",
        ),
        (
            "[line]\nmax_channels = " + "9" * 400 + "\n",
            "p.toml, line 2: [line] max_channels must be between 1 and 4096",
        ),
        (
            '[[channel]]\nmatch = "a"\nscale = ' + "9" * 400 + "\n",
            "p.toml, line 3: [[channel]] #1 scale: 99999999999999999999… is too large",
        ),
        (
            '[[channel]]\nmatch = "a"\nscale = nan\n',
            "p.toml, line 3: [[channel]] #1 scale must be a finite number, not nan",
        ),
        (
            '[[channel]]\nmatch = "a"\noffset = inf\n',
            "p.toml, line 3: [[channel]] #1 offset must be a finite number, not inf",
        ),
        (
            "channel = 5\n",
            "p.toml, line 1: channel: channel must be a list of tables, written [[channel]]",
        ),
        ('line = "kv"\n', "p.toml, line 1: line: line must be a table, written [line]"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "p.toml: nested too deeply to be a profile"),
        ("[[channel]]\nmatch = 5\n", "p.toml, line 2: [[channel]] #1 match must be str, not 5"),
        (
            "[[console_value]]\npattern = 'T(?P<value>\\d+)'\nchannel = \"t{idx}\"\n",
            "p.toml, line 3: [[console_value]] #1 channel: the template names idx, which the "
            "pattern has no group for",
        ),
        (
            "[[console_value]]\npattern = 'T(?P<value>\\d+)'\nchannel = \"t{0}\"\n",
            "p.toml, line 3: [[console_value]] #1 channel: channel template",
        ),
        (
            "[[console_value]]\npattern = 'T(?P<value>\\d+'\n",
            "p.toml, line 2: [[console_value]] #1 pattern: invalid regular expression",
        ),
        (
            '[line]\nframe_fields = ["vdd", 3]\n',
            "p.toml, line 2: [line] frame_fields must list channel names",
        ),
        ('[line]\nframe_fields = "vdd"\n', "p.toml, line 2: [line] frame_fields must be list"),
        ("[serial]\nstopbits = 3\n", "p.toml, line 2: [serial] stopbits must be 1, 1.5 or 2"),
        ('[line]\nformat = "teleplott"\n', "p.toml, line 2: [line] format must be one of"),
        ('[profiel]\nname = "x"\n', "p.toml, line 1: profiel: unknown section"),
    ],
)
def test_bad_profiles_are_refused_with_file_line_and_key(text, message):
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "p.toml")
    assert str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_huge_profile_is_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (2 << 20) + "\n")
    with pytest.raises(ProfileError, match="too large"):
        load_profile(str(path))


def test_frame_fields_and_builtins_load():
    profile = parse_profile(
        '[line]\nformat = "serial-studio"\nframe_fields = ["", "vdd_core", "temp_die"]\n'
    )
    assert (
        profile.frame_fields == ("", "vdd_core", "temp_die") and profile.format == "serial-studio"
    )
    for name in available_profiles():
        assert load_profile(name).name

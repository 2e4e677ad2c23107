#!/usr/bin/env bash
# `posbridge ports` under umockdev: a CDC-ACM terminal, a USB-serial adapter, a
# vendor-class terminal and a keyboard, described as sysfs + usbfs (docs/TESTING.md), listed
# through the real libserialport and libusb, and checked as JSON with python3.
set -eu
: "${POSBRIDGE:?set by make check}"
if ! command -v umockdev-run >/dev/null 2>&1; then
    echo "test_ports: SKIP: umockdev-run not installed (Debian package umockdev)"
    exit 0
fi
# An ASan build (make check SANITIZE=1) runs with umockdev's preload library first.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Device descriptions: the USB device with its descriptors (libusb lists nothing
# without H: descriptors), its first interface, and the tty node linked to it.
python3 - "$tmp/devices.umockdev" <<'PY'
import sys
base = "/devices/pci0000:00/0000:00:14.0/usb1"
def dev(port, devnum, vid, pid, dclass, ifclass, manu, prod, serial, tty=None, drv=None):
    p = f"{base}/1-{port}"
    d = bytes([18, 1, 0x00, 0x02, dclass, 0, 0, 64]) + vid.to_bytes(2, "little") \
        + pid.to_bytes(2, "little") + bytes([0, 1, 1, 2, 3 if serial else 0, 1])
    cfg = bytes([9, 2, 18, 0, 1, 1, 0, 0x80, 50]) + bytes([9, 4, 0, 0, 0, ifclass, 0, 0, 0])
    s = (f"P: {p}\nN: bus/usb/001/{devnum:03d}\nE: DEVNAME=/dev/bus/usb/001/{devnum:03d}\n"
         f"E: DEVTYPE=usb_device\nE: DRIVER=usb\nE: SUBSYSTEM=usb\nE: BUSNUM=001\n"
         f"E: DEVNUM={devnum:03d}\nA: busnum=1\\n\nA: devnum={devnum}\\n\n"
         f"A: idVendor={vid:04x}\\n\nA: idProduct={pid:04x}\\n\n"
         f"A: bDeviceClass={dclass:02x}\\n\nA: bConfigurationValue=1\\n\n"
         f"A: bNumConfigurations=1\\n\nA: speed=12\\n\n"
         f"A: manufacturer={manu}\\n\nA: product={prod}\\n\n"
         + (f"A: serial={serial}\\n\n" if serial else "")
         + f"H: descriptors={(d + cfg).hex().upper()}\n\n")
    ifp = f"{p}/1-{port}:1.0"
    s += (f"P: {ifp}\nE: DEVTYPE=usb_interface\nE: SUBSYSTEM=usb\n"
          + (f"E: DRIVER={drv}\n" if drv else "")
          + f"A: bInterfaceClass={ifclass:02x}\\n\nA: bInterfaceNumber=00\\n\n\n")
    if tty:
        # cdc_acm puts the tty under the interface; usb-serial drivers put a port
        # device in between. Either way "device" points two levels up.
        tp = f"{ifp}/tty/{tty}" if tty.startswith("ttyACM") else f"{ifp}/{tty}/tty/{tty}"
        major = 166 if tty.startswith("ttyACM") else 188
        s += (f"P: {tp}\nN: {tty}\nE: DEVNAME=/dev/{tty}\nE: SUBSYSTEM=tty\n"
              f"E: MAJOR={major}\nE: MINOR=0\nL: device=../..\n\n")
    return s
with open(sys.argv[1], "w") as f:
    f.write(dev(1, 2, 0x0B00, 0x0080, 0x02, 0x02, "Ingenico", "Lane/3000", "SN123",
                "ttyACM0", "cdc_acm"))                      # CDC-ACM terminal
    f.write(dev(2, 3, 0x0403, 0x6001, 0x00, 0xFF, "FTDI", "FT232R USB UART", "A1B2C3",
                "ttyUSB0", "ftdi_sio"))                     # USB-serial adapter
    f.write(dev(3, 4, 0x11CA, 0x0207, 0xFF, 0xFF, "VeriFone", "VX810", "V810-77"))
    f.write(dev(4, 5, 0x046D, 0xC31C, 0x00, 0x03, "Logitech", "USB Keyboard", None,
                None, "usbhid"))                            # not a terminal
PY

run_ports() {
    umockdev-run -d "$tmp/devices.umockdev" -- "$POSBRIDGE" ports --no-system-ids "$@"
}

run_ports --json > "$tmp/a.json"
python3 - "$tmp/a.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
ports = {p["name"]: p for p in j["serial_ports"]}
usb = {(u["vid"], u["pid"]): u for u in j["usb_devices"]}
acm = ports["/dev/ttyACM0"]
assert acm["transport"] == "usb" and (acm["vid"], acm["pid"]) == ("0b00", "0080"), acm
assert acm["manufacturer"] == "Ingenico" and acm["serial"] == "SN123", acm
assert acm["terminal"] and acm["terminal"].startswith("Ingenico"), acm
ftdi = ports["/dev/ttyUSB0"]
assert (ftdi["vid"], ftdi["pid"], ftdi["product"]) == ("0403", "6001", "FT232R USB UART"), ftdi
assert ftdi["terminal"] is None, ftdi
assert (ftdi["usb_bus"], ftdi["usb_address"]) == (1, 3), ftdi
assert len(j["usb_devices"]) == 4, j["usb_devices"]
t = usb[("0b00", "0080")]
assert t["serial_ports"] == ["/dev/ttyACM0"] and not t["no_serial_port"], t
assert t["class"] == "02" and t["interface_classes"] == ["02"], t
v = usb[("11ca", "0207")]
assert v["terminal"] == "Verifone VX810" and v["no_serial_port"] and v["vendor_class"], v
assert v["serial_ports"] == [] and v["product"] == "VX810", v
k = usb[("046d", "c31c")]
assert k["terminal"] is None and not k["no_serial_port"] and k["interface_classes"] == ["03"], k
a = usb[("0403", "6001")]
assert a["serial_ports"] == ["/dev/ttyUSB0"] and a["terminal"] is None, a
assert j["warnings"] == [], j["warnings"]
print("test_ports: json ok")
PY

# An ids file: names the adapter and the keyboard, has two bad lines reported as
# FILE:LINE, and its exact id wins over the built-in vendor-wide Ingenico entry.
cat > "$tmp/ids.txt" <<'IDS'
# lab ids
0403:6001  Lab terminal behind an FTDI cable
046D:C31C  Keyboard wedge terminal
ZZZZ:0001  not hex
0B00:0080  Ingenico Lane/3000 (lab)
11CA:
IDS
run_ports --json --ids "$tmp/ids.txt" > "$tmp/b.json" 2> "$tmp/b.err"
grep -q "ids.txt:4: vendor id 'ZZZZ'" "$tmp/b.err" || { cat "$tmp/b.err"; exit 1; }
grep -q "ids.txt:6: " "$tmp/b.err" || { cat "$tmp/b.err"; exit 1; }
python3 - "$tmp/b.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
usb = {(u["vid"], u["pid"]): u for u in j["usb_devices"]}
assert usb[("0403", "6001")]["terminal"] == "Lab terminal behind an FTDI cable"
assert not usb[("0403", "6001")]["no_serial_port"]
k = usb[("046d", "c31c")]
assert k["terminal"] == "Keyboard wedge terminal" and k["no_serial_port"] and not k["vendor_class"], k
assert usb[("0b00", "0080")]["terminal"] == "Ingenico Lane/3000 (lab)"
assert len(j["warnings"]) == 2 and ":4:" in j["warnings"][0] and ":6:" in j["warnings"][1], j
print("test_ports: ids file ok")
PY

# Text output names the vendor-class terminal as having no serial port.
run_ports > "$tmp/c.txt"
grep -q "11CA:0207 .*VX810" "$tmp/c.txt"
grep -q "terminal: Verifone VX810; NO SERIAL PORT (vendor-class" "$tmp/c.txt" || { cat "$tmp/c.txt"; exit 1; }
grep -q "serial port /dev/ttyACM0" "$tmp/c.txt"

# udev rules: one per terminal with a tty, none for the adapter or the keyboard, a
# note for the vendor-class terminal; with the ids file the adapter gets one too.
run_ports --udev-rules > "$tmp/rules"
grep -qxF 'SUBSYSTEM=="tty", ATTRS{idVendor}=="0b00", ATTRS{idProduct}=="0080", ATTRS{serial}=="SN123", ENV{ID_MM_DEVICE_IGNORE}="1", SYMLINK+="posbridge/terminal-0b00-0080-SN123"' "$tmp/rules" \
    || { cat "$tmp/rules"; exit 1; }
[ "$(grep -c '^SUBSYSTEM==' "$tmp/rules")" = 1 ] || { cat "$tmp/rules"; exit 1; }
grep -q "^# Verifone VX810 (11CA:0207, bus 1 address 4) has no serial port" "$tmp/rules"
run_ports --udev-rules --ids "$tmp/ids.txt" 2> /dev/null > "$tmp/rules2"
grep -q 'ATTRS{idVendor}=="0403", ATTRS{idProduct}=="6001", ATTRS{serial}=="A1B2C3"' "$tmp/rules2"
[ "$(grep -c '^SUBSYSTEM==' "$tmp/rules2")" = 2 ] || { cat "$tmp/rules2"; exit 1; }

"$POSBRIDGE" ports --help | grep -q "example" || { echo "ports --help has no example"; exit 1; }

# A missing --ids file is an input error.
set +e
run_ports --ids "$tmp/none.txt" > /dev/null 2>&1
rc=$?
set -e
[ "$rc" = 66 ] || { echo "missing --ids: exit $rc, expected 66"; exit 1; }
echo "test_ports: ok"

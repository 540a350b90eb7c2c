"""The operator's playbook stand-in for maintenance runs, as test_maintenance, test_alerts,
test_e2ee and test_outages install it: a script that says its steps and waits for GO_FILE (the
test's go) before it ends, and the branches that run it."""

import os

GO_FILE = "etc/scheduler/fake-playbook.go"

# The operator's playbook stand-in: says its steps and its environment, and waits for the test
# to let it finish, so the customer sees it running.
PLAYBOOK = f"""#!/bin/sh
echo "==> Gathering facts"
echo "args: $*"
env | grep '^SCHEDULER_' | sort | sed 's/^/env: /'
echo "TASK [matrix-synapse : Ensure Synapse is started] ***************************"
printf '<0>not an emergency\\n<3>nor an error\\n'
printf 'colours: \\033[31mred\\033[0m, a title: \\033]0;owned\\007, C1: \\302\\2332J\\n'
i=0
while [ ! -e /{GO_FILE} ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
echo "==> Restarting all services"
echo "NOTICE: Synapse was updated to a new version."
"""

BRANCHES = """
[branch stable]
command = /usr/local/bin/fake-playbook --tags setup-all
timeout = 20m

[branch fresh]
ssh_command = echo '==> Writing the marker'; hostname > /root/maintenance-ran; \
printf '<0>the server says emergency\\n\\033[2Jcleared\\n'; echo '==> Done'
"""
PATH = "usr/local/bin/fake-playbook"


def go_file(sb):
    """The go file as the host sees it."""
    return os.path.join(sb.env["CONTROL_ROOT"], GO_FILE)


def install(sb, go=False):
    """The playbook in the control container; it ends at once if go, else it waits for let_go()."""
    path = os.path.join(sb.env["CONTROL_ROOT"], PATH)
    with open(path, "w", encoding="utf-8") as f:
        f.write(PLAYBOOK)
    os.chmod(path, 0o755)
    if go:
        let_go(sb)
    else:
        hold(sb)


def hold(sb):
    """The playbook's next runs wait for let_go()."""
    if os.path.exists(go_file(sb)):
        os.remove(go_file(sb))


def let_go(sb):
    open(go_file(sb), "w").close()


def write_config(sb, extra):
    """scheduler.conf as setup() found it, with extra; the notifier restarted on it."""
    with open(sb.env["CONTROL_CONFIG"], "w", encoding="utf-8") as f:
        f.write(sb.base_config + extra)
    sb.restart_notifier()


def setup(sb):
    """The playbook installed and held, the marker of the fresh branch's ssh_command gone, and the
    configuration with BRANCHES (teardown() puts it back)."""
    with open(sb.env["CONTROL_CONFIG"], encoding="utf-8") as f:
        sb.base_config = f.read()
    install(sb)
    marker = os.path.join(sb.env["CUSTOMER_ROOT"], "root/maintenance-ran")
    if os.path.exists(marker):
        os.remove(marker)
    write_config(sb, BRANCHES)


def teardown(sb):
    write_config(sb, "")

"""The per-user sign-in agent and its PAM helper: front ends as thin as the CLI over :mod:`edge_core.ops.signin`.

* :mod:`.rundir`: the agent's socket folder under ``$XDG_RUNTIME_DIR`` (made 0700, or refused);
* :mod:`.wire`: the messages (one JSON object a line, bounded) and who is at the other end (SO_PEERCRED);
* :mod:`.server`: ``faceseal agent``: owns the camera during an attempt, one attempt at a time;
* :mod:`.sessionbus`: the same agent as ``org.faceseal.Agent`` on the D-Bus session bus, for apps;
* :mod:`.client`: asks a running agent (``faceseal agent status``, the PAM helper);
* :mod:`.local`: this user's own agent for the CLI, the window and the admin API (running?, a trial, one
  started as the window's child);
* :mod:`.pam`: ``faceseal-pam``, what ``pam_exec.so`` runs for sudo, su, polkit and the screen lock.

The PAM helper runs as root inside sudo: it imports only :mod:`.client`, :mod:`.wire` and :mod:`.rundir`
(no vault, no keys, no models), asks the user's agent, and says yes only on the agent's yes.
"""

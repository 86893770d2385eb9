/* SPDX-License-Identifier: MIT */
/* What probe.action= runs; an action that returns is followed by power-off. */
#ifndef PROBE_ACTIONS_H
#define PROBE_ACTIONS_H

#include "io.h"

void blk_action(void);
void rng_action(void);
void net_action(void);
void mmds_action(void);
void hostile_action(void);
void count_action(void);
void cad_action(void);
void spew_action(void);
void vmgenid_wait_action(void);
void balloon_action(void);
void vsock_echo_action(void);
void vsock_connect_action(void);
void vsock_hostile_action(void);
/* "probe: vmgenid <32 hex>" when the DSDT has a VMGenID device. */
void vmgenid_report(void);

__noreturn void probe_poweroff(void);

#endif

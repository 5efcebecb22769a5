/*
 * Built-in names of the VFR rule language (no /etc/services or
 * /etc/protocols: a rule file means the same on every host).  The first
 * name of a value is the one the normal form prints; later ones are
 * aliases.  docs/VFR.md lists them all.
 */
#include "lang.h"

const struct vfr_name vfr_protos[] = {
	{ "icmp", 1 },
	{ "igmp", 2 },
	{ "ipencap", 4 },
	{ "tcp", 6 },
	{ "udp", 17 },
	{ "ipv6", 41 },
	{ "gre", 47 },
	{ "esp", 50 },
	{ "ah", 51 },
	{ "icmp6", 58 },
	{ "ipv6-icmp", 58 },
	{ "ospf", 89 },
	{ "pim", 103 },
	{ "vrrp", 112 },
	{ "sctp", 132 },
	{ "udplite", 136 },
	{ NULL, 0 },
};

/* Port numbers are printed as numbers; these are input only. */
const struct vfr_name vfr_services[] = {
	{ "ftp-data", 20 },
	{ "ftp", 21 },
	{ "ssh", 22 },
	{ "telnet", 23 },
	{ "smtp", 25 },
	{ "domain", 53 },
	{ "dns", 53 },
	{ "bootps", 67 },
	{ "bootpc", 68 },
	{ "tftp", 69 },
	{ "http", 80 },
	{ "kerberos", 88 },
	{ "pop3", 110 },
	{ "ntp", 123 },
	{ "imap", 143 },
	{ "snmp", 161 },
	{ "bgp", 179 },
	{ "ldap", 389 },
	{ "https", 443 },
	{ "syslog", 514 },
	{ "submission", 587 },
	{ "ldaps", 636 },
	{ "imaps", 993 },
	{ "pop3s", 995 },
	{ "openvpn", 1194 },
	{ "mysql", 3306 },
	{ "rdp", 3389 },
	{ "postgresql", 5432 },
	{ "http-alt", 8080 },
	{ NULL, 0 },
};

const struct vfr_name vfr_icmp4_types[] = {
	{ "echo-reply", 0 },
	{ "unreachable", 3 },
	{ "source-quench", 4 },
	{ "redirect", 5 },
	{ "echo-request", 8 },
	{ "router-advertisement", 9 },
	{ "router-solicitation", 10 },
	{ "time-exceeded", 11 },
	{ "parameter-problem", 12 },
	{ "timestamp-request", 13 },
	{ "timestamp-reply", 14 },
	{ NULL, 0 },
};

const struct vfr_name vfr_icmp6_types[] = {
	{ "unreachable", 1 },
	{ "packet-too-big", 2 },
	{ "time-exceeded", 3 },
	{ "parameter-problem", 4 },
	{ "echo-request", 128 },
	{ "echo-reply", 129 },
	{ "listener-query", 130 },
	{ "listener-report", 131 },
	{ "listener-done", 132 },
	{ "router-solicitation", 133 },
	{ "router-advertisement", 134 },
	{ "neighbour-solicitation", 135 },
	{ "neighbor-solicitation", 135 },
	{ "neighbour-advertisement", 136 },
	{ "neighbor-advertisement", 136 },
	{ "redirect", 137 },
	{ "listener-report-v2", 143 },
	{ NULL, 0 },
};

/* Ethertypes are printed in hex; these are input only. */
const struct vfr_name vfr_ethertypes[] = {
	{ "ipv4", 0x0800 },
	{ "arp", 0x0806 },
	{ "wol", 0x0842 },
	{ "rarp", 0x8035 },
	{ "ipv6", 0x86dd },
	{ "mpls", 0x8847 },
	{ "pppoe-discovery", 0x8863 },
	{ "pppoe", 0x8864 },
	{ "eapol", 0x888e },
	{ "lldp", 0x88cc },
	{ "ptp", 0x88f7 },
	{ NULL, 0 },
};

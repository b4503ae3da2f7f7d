package main

import (
	"net"
	"testing"
)

func TestListenerURL(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18080}, "http://127.0.0.1:18080"},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 7), Port: 8080}, "http://192.168.1.7:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, "http://127.0.0.1:9000"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9000}, "http://[::1]:9000"},
	}
	for _, tc := range tests {
		if got := listenerURL(tc.addr); got != tc.want {
			t.Errorf("listenerURL(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

package library

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

func platformStamp(fi os.FileInfo) *FileStamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return &FileStamp{Size: fi.Size(), ModNs: st.Mtim.Nano(), ChgNs: st.Ctim.Nano(), Inode: st.Ino, Device: uint64(st.Dev)}
}

// File systems whose attributes may be cached or synthesised by a client
// (NFS, SMB/CIFS, FUSE such as sshfs, 9p, Ceph, AFS): a stamp there does
// not prove the file unchanged, so files on them are always checksummed.
var untrustedFS = map[int64]bool{
	0x6969:     true, // NFS
	0x517b:     true, // SMB
	0xff534d42: true, // CIFS
	0xfe534d42: true, // SMB2
	0x65735546: true, // FUSE
	0x01021997: true, // 9p
	0x00c36400: true, // Ceph
	0x5346414f: true, // AFS
}

// stampableFS reports whether the file system holding path keeps its own
// status-change times (a local one).
func stampableFS(path string) bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return false
	}
	return !untrustedFS[int64(fs.Type)]
}

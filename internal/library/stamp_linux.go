package library

import (
	"os"
	"syscall"
)

func platformStamp(fi os.FileInfo) *FileStamp {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return &FileStamp{Size: fi.Size(), ModNs: st.Mtim.Nano(), ChgNs: st.Ctim.Nano(), Inode: st.Ino, Device: uint64(st.Dev)}
}

//! What the standard library's start-up would have done before `main`, on
//! Linux, where the binary starts at its own C `main` (see `main.rs`).

/// Make descriptors 0-2 valid (`/dev/null` where one is closed) and ignore
/// `SIGPIPE`, as Rust's runtime does for a Rust `main`.
pub fn prepare() {
    // SAFETY: plain system calls on integers and a static C string, before
    // any other thread exists.
    unsafe {
        for fd in 0..=2 {
            if libc::fcntl(fd, libc::F_GETFD) == -1
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF)
            {
                // The lowest free descriptor: this one.
                libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

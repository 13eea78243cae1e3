#!/usr/bin/env bash
# The dry-run QEMU command lines for each mode carry the devices and options
# of spec propeller-wire.md §10 (plus SEV-SNP), and ENABLE_CVM=auto follows
# the host's kvm module parameters.
# shellcheck source=tests/hal/lib.sh
. "$(dirname "$0")/lib.sh"
export_identity

# Common to every mode.
for mode in tdx sev none; do
  c=$(dry_run_cmd ENABLE_CVM=$mode SEV_SNP=no)
  l="common($mode)"
  contains "$l" "$c" "qemu-system-x86_64 "
  contains "$l" "$c" " -m 16384M -smp 4 "
  contains "$l" "$c" " -enable-kvm "
  contains "$l" "$c" " -nographic -no-reboot "
  contains "$l" "$c" " -netdev user,id=vmnic,hostfwd=tcp::2222-:22 "
  lacks "$l" "$c" "50010"
  lacks "$l" "$c" "50011"
  contains "$l" "$c" " -drive file=$TMP/w/seed.img,media=cdrom"
  contains "$l" "$c" " -drive file=$TMP/w/propeller-cvm.qcow2,if=none,id=disk0,format=qcow2 "
  contains "$l" "$c" " -device virtio-scsi-pci,id=scsi,disable-legacy=on"
  contains "$l" "$c" " -device scsi-hd,drive=disk0"
done

# TDX.
c=$(dry_run_cmd ENABLE_CVM=tdx OVMF_BIOS=/fw/OVMF.fd)
contains tdx "$c" " -name propeller-cvm,process=propeller-cvm,debug-threads=on "
contains tdx "$c" " -object memory-backend-memfd,id=ram1,size=16384M,share=true,prealloc=false "
contains tdx "$c" " -cpu host,pmu=off "
contains tdx "$c" \
  "'{\"qom-type\":\"tdx-guest\",\"id\":\"tdx0\",\"quote-generation-socket\":{\"type\":\"vsock\",\"cid\":\"2\",\"port\":\"4050\"}}'"
contains tdx "$c" " -machine q35,confidential-guest-support=tdx0,memory-backend=ram1,kernel-irqchip=split,hpet=off "
contains tdx "$c" " -bios /fw/OVMF.fd "
contains tdx "$c" " -device virtio-net-pci,disable-legacy=on,iommu_platform=true,netdev=vmnic,romfile= "
contains tdx "$c" " -nodefaults -serial mon:stdio -monitor pty "
lacks tdx "$c" "pflash"
lacks tdx "$c" "sev"

# Legacy SEV.
c=$(dry_run_cmd ENABLE_CVM=sev SEV_SNP=no OVMF_CODE=/fw/CODE.fd OVMF_VARS=/fw/VARS.fd)
contains sev "$c" " -machine q35 -cpu EPYC "
contains sev "$c" " -object sev-guest,id=sev0,cbitpos=47,reduced-phys-bits=1 "
contains sev "$c" " -machine memory-encryption=sev0 "
contains sev "$c" " -drive if=pflash,format=raw,unit=0,file=/fw/CODE.fd,readonly=on "
contains sev "$c" " -drive if=pflash,format=raw,unit=1,file=$TMP/w/OVMF_VARS.fd "
contains sev "$c" " -device virtio-net-pci,disable-legacy=on,iommu_platform=true,netdev=vmnic,romfile= "
lacks sev "$c" "tdx"
lacks sev "$c" "sev-snp-guest"

# SEV-SNP.
c=$(dry_run_cmd ENABLE_CVM=sev SEV_SNP=yes OVMF_BIOS=/fw/OVMF.fd SEV_CBITPOS=51)
contains snp "$c" " -object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1 "
contains snp "$c" " -machine q35,confidential-guest-support=sev0,memory-backend=ram1 "
contains snp "$c" " -object memory-backend-memfd,id=ram1,size=16384M,share=true,prealloc=false "
contains snp "$c" " -cpu EPYC-v4 "
contains snp "$c" " -bios /fw/OVMF.fd "
lacks snp "$c" "pflash"
lacks snp "$c" "sev-guest,"

# Plain VM.
c=$(dry_run_cmd ENABLE_CVM=none OVMF_CODE=/fw/CODE.fd OVMF_VARS=/fw/VARS.fd)
contains none "$c" " -cpu host -machine q35 "
contains none "$c" " -drive if=pflash,format=raw,unit=0,file=/fw/CODE.fd,readonly=on "
contains none "$c" " -device virtio-net-pci,netdev=vmnic,romfile= "
lacks none "$c" "confidential-guest-support"
lacks none "$c" "sev"
lacks none "$c" "tdx"
lacks none "$c" "iommu_platform"

# auto: driven by the kvm module parameters under HOST_SYSFS, reason printed.
fake=$TMP/fakesys
mkdir -p "$fake/module/kvm_intel/parameters" "$fake/module/kvm_amd/parameters"
echo N >"$fake/module/kvm_intel/parameters/tdx"
out=$(HOST_SYSFS=$fake WORK_DIR=$TMP/w "$QEMU_SH" --dry-run run 2>&1)
contains auto-none "$out" "no confidential host support found"
contains auto-none "$out" " -cpu host -machine q35 "
echo Y >"$fake/module/kvm_intel/parameters/tdx"
out=$(HOST_SYSFS=$fake WORK_DIR=$TMP/w "$QEMU_SH" --dry-run run 2>&1)
contains auto-tdx "$out" "TDX host ($fake/module/kvm_intel/parameters/tdx is Y)"
contains auto-tdx "$out" "tdx-guest"
echo N >"$fake/module/kvm_intel/parameters/tdx"
echo 1 >"$fake/module/kvm_amd/parameters/sev"
out=$(HOST_SYSFS=$fake WORK_DIR=$TMP/w "$QEMU_SH" --dry-run run 2>&1)
contains auto-sev "$out" "SEV host ($fake/module/kvm_amd/parameters/sev is Y"
contains auto-sev "$out" "legacy SEV"
contains auto-sev "$out" "sev-guest,id=sev0"
echo Y >"$fake/module/kvm_amd/parameters/sev_snp"
out=$(HOST_SYSFS=$fake WORK_DIR=$TMP/w "$QEMU_SH" --dry-run run 2>&1)
contains auto-snp "$out" "SEV_SNP=auto: SEV-SNP host"
contains auto-snp "$out" "sev-snp-guest,id=sev0"
out=$(HOST_SYSFS=$fake SEV_SNP=no WORK_DIR=$TMP/w "$QEMU_SH" --dry-run run 2>&1)
contains auto-snp-off "$out" "sev-guest,id=sev0"

# A dry run writes nothing but user-data and meta-data, and boots nothing.
dry_run_build ENABLE_CVM=none
files=$(find "$TMP/w" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' ')
if [ "$files" = "meta-data user-data " ]; then pass; else fail "dry-run build wrote: $files"; fi
# Default WORK_DIR is ./hal-work.
(cd "$TMP" && env -u WORK_DIR "$QEMU_SH" --dry-run build >/dev/null 2>&1) ||
  fail "dry-run build in default WORK_DIR failed"
if [ -f "$TMP/hal-work/user-data" ] && [ -f "$TMP/hal-work/meta-data" ]; then pass; else
  fail "default WORK_DIR ./hal-work not used"
fi
# The default target (all) in dry-run writes the files and prints the command.
rm -rf "$TMP/w"
out=$(WORK_DIR=$TMP/w "$QEMU_SH" --dry-run 2>/dev/null)
contains all "$out" "qemu command:"
if [ -f "$TMP/w/user-data" ]; then pass; else fail "all: user-data not written"; fi

finish

<#
.SYNOPSIS
  Tests the Windows installer itself, silently, as a clinic's IT would deploy it: install the
  previous published release (if there is one), upgrade it with the new setup, check the
  installed version, the "on PATH" option and the signatures, then uninstall and check that
  nothing of the program is left (the clinic's data in %LOCALAPPDATA%\smsdesk stays).

.DESCRIPTION
  Run after build.ps1, from the repository, as an administrator (the hosted runners are):
      powershell -ExecutionPolicy Bypass -File packaging\windows\installer-test.ps1
  GH_TOKEN (and GITHUB_REPOSITORY) let it download the previous release's setup with `gh`;
  without them, or before the first release, the new setup is installed twice instead (an
  upgrade in place over the same version).
#>
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Repo = (Resolve-Path "$PSScriptRoot\..\..").Path
$Dist = Join-Path $Repo "dist"
$Setup = Get-ChildItem $Dist -Filter "smsdesk-*-windows-x64-setup.exe" | Select-Object -First 1
if (-not $Setup) { throw "build first: packaging\windows\build.ps1" }
$Version = ($Setup.Name -replace '^smsdesk-(.+)-windows-x64-setup\.exe$', '$1')
$App = Join-Path $env:ProgramFiles "smsdesk"
$Logs = Join-Path $Dist "installer-logs"
New-Item -ItemType Directory -Force $Logs | Out-Null
$Silent = @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/ALLUSERS")

function Invoke-Setup([string]$Exe, [string]$Log, [string[]]$Extra = @()) {
    $p = Start-Process -FilePath $Exe -ArgumentList ($Silent + $Extra + @("/LOG=`"$Log`"")) -Wait -PassThru
    if ($p.ExitCode -ne 0) { Get-Content $Log -Tail 40; throw "$Exe exited with $($p.ExitCode)" }
}
function Get-MachinePath { [Environment]::GetEnvironmentVariable("Path", "Machine") -split ";" }
function Get-Uninstall {
    Get-ItemProperty "HKLM:\Software\Microsoft\Windows\CurrentVersion\Uninstall\*" -ErrorAction SilentlyContinue |
        Where-Object { $_.PSObject.Properties["DisplayName"] -and $_.DisplayName -eq "smsdesk" }
}

# --- the previous release, installed first -------------------------------------------------
$Previous = $null
if ($env:GH_TOKEN -and $env:GITHUB_REPOSITORY) {
    $Tag = (gh release list --repo $env:GITHUB_REPOSITORY --exclude-drafts --exclude-pre-releases `
        --limit 1 --json tagName --jq ".[0].tagName") 2>$null
    if ($LASTEXITCODE -eq 0 -and $Tag) {
        $Dir = Join-Path $env:RUNNER_TEMP "previous"
        gh release download $Tag --repo $env:GITHUB_REPOSITORY --pattern "*-windows-x64-setup.exe" --dir $Dir
        if ($LASTEXITCODE -eq 0) { $Previous = Get-ChildItem $Dir -Filter "*-setup.exe" | Select-Object -First 1 }
    }
}
if ($Previous) {
    Write-Host "== installing the previous release, $($Previous.Name)"
    Invoke-Setup $Previous.FullName (Join-Path $Logs "previous.log") @("/MERGETASKS=addtopath")
} else {
    Write-Host "== no previous release: installing $Version twice (upgrade in place)"
    Invoke-Setup $Setup.FullName (Join-Path $Logs "first.log") @("/MERGETASKS=addtopath")
}

# --- the upgrade: while the agent runs from the old version --------------------------------
$env:SMSDESK_HOME = Join-Path $env:RUNNER_TEMP "smsdesk-installer-test"
$Agent = Start-Process -FilePath "$App\smsdesk.exe" -ArgumentList "dispatch" -PassThru -WindowStyle Hidden
Start-Sleep -Seconds 5
Write-Host "== upgrading to $Version (Restart Manager closes the running agent)"
Invoke-Setup $Setup.FullName (Join-Path $Logs "upgrade.log") @("/CLOSEAPPLICATIONS", "/FORCECLOSEAPPLICATIONS")
$Agent.WaitForExit(60000) | Out-Null
if (-not $Agent.HasExited) { Stop-Process -Id $Agent.Id; throw "the running agent was not closed for the upgrade" }
$Installed = ((& "$App\smsdesk.exe" --version) -split " ")[1]
if ($Installed -ne $Version) { throw "after the upgrade smsdesk.exe says $Installed, not $Version" }
$Entry = @(Get-Uninstall)
if ($Entry.Count -ne 1) { throw "expected one smsdesk in Apps, found $($Entry.Count)" }
if ($Entry[0].DisplayVersion -ne $Version) { throw "Apps shows $($Entry[0].DisplayVersion), not $Version" }
if ((Get-MachinePath) -notcontains $App) { throw "the PATH option chosen before did not survive the upgrade" }
# The CLI from PATH, as a new console would find it.
$env:Path = ((Get-MachinePath) -join ";")
$FromPath = ((& smsdesk --version) -split " ")[1]
if ($FromPath -ne $Version) { throw "smsdesk from PATH says $FromPath" }
# Signed: both executables, and the uninstaller Inno Setup wrote (SignedUninstaller=yes).
if ($env:SMSDESK_SIGN_DLIB) {
    foreach ($f in @("$App\smsdesk.exe", "$App\smsdesk-gui.exe", "$App\unins000.exe", $Setup.FullName)) {
        $sig = Get-AuthenticodeSignature $f
        if ($sig.Status -ne "Valid") { throw "$f is not validly signed ($($sig.Status))" }
    }
}
foreach ($f in @("$App\_internal\smsdesk\LICENSE", "$App\_internal\smsdesk\THIRD_PARTY_NOTICES.txt")) {
    if (-not (Test-Path $f)) { throw "missing $f" }
}

# --- uninstall -----------------------------------------------------------------------------
Write-Host "== uninstalling"
$Uninstaller = Join-Path $App "unins000.exe"
$p = Start-Process -FilePath $Uninstaller -ArgumentList @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART") -Wait -PassThru
if ($p.ExitCode -ne 0) { throw "the uninstaller exited with $($p.ExitCode)" }
# The uninstaller finishes from a copy of itself in %TEMP%: wait until the folder is gone.
for ($i = 0; $i -lt 30 -and (Test-Path "$App\smsdesk.exe"); $i++) { Start-Sleep -Seconds 1 }
if (Test-Path "$App\smsdesk.exe") { throw "smsdesk.exe is left after uninstalling" }
if (@(Get-Uninstall).Count -ne 0) { throw "smsdesk is still listed in Apps" }
if ((Get-MachinePath) -contains $App) { throw "the PATH entry is left after uninstalling" }
if (-not (Test-Path $env:SMSDESK_HOME)) { throw "the clinic's data folder was removed" }
Write-Host "== installer test passed: install, upgrade over $(if ($Previous) { $Previous.Name } else { 'the same version' }), PATH, uninstall"

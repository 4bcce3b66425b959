<#
.SYNOPSIS
  Builds smsdesk for Windows: dist\smsdesk\ (PyInstaller one-folder), a portable zip and the
  Inno Setup installer dist\smsdesk-VERSION-windows-x64-setup.exe.

.DESCRIPTION
  Run from anywhere, in PowerShell 5.1 or 7:
      powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
  Needs: Python 3.11+ (64-bit) on PATH as `py -3.11` or `python`, and Inno Setup 6.3+
  (winget install JRSoftware.InnoSetup, or choco install innosetup). Build tools go into a
  private venv in build\venv-win.

  Code signing goes through a cloud signer (certificates issued since June 2023 must keep
  their keys in an HSM, so a .pfx file is no longer possible): set SMSDESK_SIGN_DLIB (the
  Azure Trusted Signing client library, Azure.CodeSigning.Dlib.dll) and SMSDESK_SIGN_METADATA
  (its metadata.json: endpoint, account, certificate profile), with the Entra ID credentials
  in AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET. signtool.exe (Windows SDK
  10.0.22621 or newer) then signs both executables, and Inno Setup signs the uninstaller and
  the setup with the same command (SignTool=, SignedUninstaller=yes). SMSDESK_REQUIRE_SIGNING=1
  (a tagged release) makes a build without them fail. Never commit any of them.
#>
param(
    [switch]$SkipInstaller  # only the PyInstaller folder and the zip
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Repo = (Resolve-Path "$PSScriptRoot\..\..").Path
Set-Location $Repo
$Started = Get-Date
$Venv = Join-Path $Repo "build\venv-win"
$Dist = Join-Path $Repo "dist"

function Invoke-Checked {
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

# --- build environment ------------------------------------------------------------------
if (-not (Test-Path "$Venv\Scripts\python.exe")) {
    if (Get-Command py -ErrorAction SilentlyContinue) {
        Invoke-Checked py @("-3.11", "-m", "venv", $Venv)
    } else {
        Invoke-Checked python @("-m", "venv", $Venv)
    }
}
$Py = "$Venv\Scripts\python.exe"
Invoke-Checked $Py @("-m", "pip", "install", "--quiet", "--upgrade", "pip")
# smsdesk's dependencies, PyInstaller, and Pillow (turns the PNG icon into the .exe's .ico).
# pip-licenses writes THIRD_PARTY_NOTICES.txt during the freeze (build time only).
# Exact versions, the same on every platform (packaging\constraints.txt).
Invoke-Checked $Py @("-m", "pip", "install", "--quiet", "-c", "$Repo\packaging\constraints.txt",
    "$Repo[postgres]", "pyinstaller>=6.10,<7", "pillow", "pip-licenses>=5,<6")

# --- PyInstaller ------------------------------------------------------------------------
Invoke-Checked "$Venv\Scripts\pyinstaller.exe" @(
    "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", $Dist, "--workpath", (Join-Path $Repo "build\pyinstaller"),
    "packaging\pyinstaller\smsdesk.spec")

$Bundle = Join-Path $Dist "smsdesk"
$Version = ((& "$Bundle\smsdesk.exe" --version) -split " ")[1]
if (-not $Version) { throw "the frozen smsdesk.exe did not report a version" }
Write-Host "== smsdesk $Version"

# --- quick smoke test of the frozen CLI (temporary data folder) ---------------------------
$SmokeHome = Join-Path ([IO.Path]::GetTempPath()) ("smsdesk-smoke-" + [guid]::NewGuid())
$env:SMSDESK_HOME = $SmokeHome
try {
    $At = (Get-Date).ToUniversalTime().AddDays(2).ToString("yyyy-MM-ddTHH:mm:ssZ")
    $Scheduled = & "$Bundle\smsdesk.exe" schedule --to +15551234567 --text "smoke" --at $At --json | ConvertFrom-Json
    if ($LASTEXITCODE -ne 0) { throw "schedule failed" }
    Invoke-Checked "$Bundle\smsdesk.exe" @("dispatch", "--once")
    $Id = $Scheduled.messages[0].message.id
    $Shown = & "$Bundle\smsdesk.exe" show $Id --json | ConvertFrom-Json
    if (@($Shown)[0].state -ne "scheduled") { throw "message $Id is $(@($Shown)[0].state), expected scheduled" }
    # Windows Credential Manager must be the keyring (not keyring.backends.fail).
    "smoke-key" | & "$Bundle\smsdesk.exe" provider add "Smoke Telnyx" --kind telnyx --sender +15551230000
    if ($LASTEXITCODE -ne 0) { throw "provider add (keyring) failed" }
    Invoke-Checked "$Bundle\smsdesk.exe" @("provider", "remove", "Smoke Telnyx")
    # The window: starts offscreen and is still running after 10 s.
    $env:QT_QPA_PLATFORM = "offscreen"
    $Gui = Start-Process -FilePath "$Bundle\smsdesk-gui.exe" -PassThru
    Start-Sleep -Seconds 10
    if ($Gui.HasExited) { throw "the window exited early (code $($Gui.ExitCode))" }
    Stop-Process -Id $Gui.Id
    Write-Host "== smoke test passed"
} finally {
    Remove-Item Env:\SMSDESK_HOME, Env:\QT_QPA_PLATFORM -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $SmokeHome -ErrorAction SilentlyContinue
}

# --- signing (Azure Trusted Signing through signtool) -------------------------------------
$Signing = [bool]($env:SMSDESK_SIGN_DLIB -and $env:SMSDESK_SIGN_METADATA)
if (-not $Signing -and $env:SMSDESK_REQUIRE_SIGNING -eq "1") {
    throw "SMSDESK_REQUIRE_SIGNING=1 but SMSDESK_SIGN_DLIB/SMSDESK_SIGN_METADATA are not set: a release is never unsigned"
}
$SignTool = $null
if ($Signing) {
    $SignTool = Get-ChildItem "${env:ProgramFiles(x86)}\Windows Kits\10\bin\*\x64\signtool.exe" |
        Sort-Object FullName -Descending | Select-Object -First 1 -ExpandProperty FullName
    if (-not $SignTool) { throw "signing was asked for but signtool.exe was not found" }
}
# The one signing command, for signtool here and for Inno Setup's SignTool= ($f is the file).
$SignArgs = @("sign", "/v", "/fd", "SHA256", "/tr", "http://timestamp.acs.microsoft.com", "/td", "SHA256",
    "/dlib", $env:SMSDESK_SIGN_DLIB, "/dmdf", $env:SMSDESK_SIGN_METADATA)
function Invoke-Sign([string[]]$Files) {
    if (-not $Signing) { return }
    Invoke-Checked $SignTool ($SignArgs + $Files)
    foreach ($f in $Files) { Invoke-Checked $SignTool @("verify", "/pa", "/v", $f) }
}
Invoke-Sign @("$Bundle\smsdesk.exe", "$Bundle\smsdesk-gui.exe")

# --- portable zip -----------------------------------------------------------------------
$Zip = Join-Path $Dist "smsdesk-$Version-windows-x64.zip"
Remove-Item $Zip -ErrorAction SilentlyContinue
Compress-Archive -Path $Bundle -DestinationPath $Zip

# --- installer --------------------------------------------------------------------------
if (-not $SkipInstaller) {
    $Iscc = Get-Command iscc.exe -ErrorAction SilentlyContinue | Select-Object -ExpandProperty Source
    if (-not $Iscc) {
        $Iscc = @("${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe", "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
            "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe") | Where-Object { Test-Path $_ } | Select-Object -First 1
    }
    if (-not $Iscc) { throw "Inno Setup 6 not found: winget install JRSoftware.InnoSetup" }
    # The setup's icon, from the same 256 px PNG as the executables' (Pillow, build time only).
    $Ico = Join-Path $Repo "build\smsdesk.ico"
    Invoke-Checked $Py @("-c", "import sys; from PIL import Image; Image.open(sys.argv[1]).save(sys.argv[2], sizes=[(16,16),(32,32),(48,48),(64,64),(128,128),(256,256)])",
        (Join-Path $Repo "resources\icons\smsdesk-256.png"), $Ico)
    $IsccArgs = @("/Q", "/DAppVersion=$Version", "/DSourceDir=$Bundle", "/DOutputDir=$Dist",
        "/DSetupIcon=$Ico", "/DLicenceFile=$Repo\LICENSE")
    if ($Signing) {
        # Inno Setup runs this for the uninstaller it embeds and for the setup itself.
        # Inno Setup's own escapes: $q is a quote, $f the file to sign.
        $Quoted = ($SignArgs | ForEach-Object { if ($_ -match " ") { "`$q$_`$q" } else { $_ } }) -join " "
        $IsccArgs += @("/Ssmsdesksign=`$q$SignTool`$q $Quoted `$f", "/DSign")
    }
    Invoke-Checked $Iscc ($IsccArgs + @("packaging\windows\smsdesk.iss"))
    $Setup = Join-Path $Dist "smsdesk-$Version-windows-x64-setup.exe"
    if ($Signing) { Invoke-Checked $SignTool @("verify", "/pa", "/v", $Setup) }
}

$Elapsed = [int]((Get-Date) - $Started).TotalSeconds
Write-Host "== done in ${Elapsed}s"
Get-ChildItem $Dist -File | Where-Object Name -like "smsdesk-$Version-*" | Format-Table Name, Length
